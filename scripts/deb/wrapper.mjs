// /usr/bin/ota-agent: how a person on the device runs the agent, by the same settings as the service unit
// (agent/systemd/ota-agent.service). glibc reads MALLOC_ARENA_MAX once, at start, so only the environment can
// give a shell-started `delta apply` or `install` one malloc arena instead of one per libuv and V8 worker thread
// (bench/README.md: 7-16 MiB of the apply's peak); --max-semi-space-size=1 bounds V8's young generation from the
// start. exec replaces the shell: no second process. A MALLOC_ARENA_MAX the caller set is kept. The bundle's path
// comes from the wrapper's own, so the tree also runs where it was unpacked (dpkg-deb -x).

/** The text of /usr/bin/ota-agent (a POSIX shell script, mode 0755). */
export const WRAPPER = [
  '#!/bin/sh',
  "# ota-agent: the device bundle run by Node.js (Depends: nodejs), with the service unit's memory settings.",
  'MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"',
  'export MALLOC_ARENA_MAX',
  'here=$(dirname "$(readlink -f "$0")")',
  'exec node --max-semi-space-size=1 "$here/../lib/ota-agent/ota-agent.mjs" "$@"',
  '',
].join('\n');
