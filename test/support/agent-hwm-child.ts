/**
 * Child process for memory tests: runs the `ota-agent` bin file exactly as a person
 * would (`node bin/ota-agent.js ARGS...`, no flags, no environment), and prints the
 * process's peak RSS (VmHWM from /proc/self/status) and the size of V8's young generation
 * on stderr at exit, as `VmHWM BYTES NEWSPACE BYTES`.
 * Usage: node agent-hwm-child.js ARGS...
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';

process.on('exit', () => {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  process.stderr.write(`VmHWM ${m === null ? 'unknown' : Number(m[1]) * 1024} NEWSPACE ${young?.space_size ?? 'unknown'}\n`);
});
// The bin file reads process.argv.slice(2): the arguments given to this child.
await import(fileURLToPath(new URL('../../../bin/ota-agent.js', import.meta.url)));
