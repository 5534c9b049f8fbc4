// The pre-init (agent/init/ota-init) run by dash, and by busybox sh with busybox's applets first on PATH
// (mount, grep, mkdir: as in the busybox QEMU image), in a private mount namespace, on directory trees that
// stand in for the slots and the data partition: boot A, change /etc (hostname, an operator file, a
// deletion, a file the next release changes too) and /var/lib/ota-agent; the agent's install step carries
// A's changes to B and reports the conflicts; B shows the device's changes over B's /etc; a rollback to A
// shows A's view, without what B wrote. Failures (no slot, no data partition) still hand over to init.
// Not QEMU: no real kernel command line, no block device (ota.data= names a directory), and the root is
// not remounted (it is the host's). Needs root and unshare (mounts).
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSlotEtc, scanTree } from '../../../agent/src/etc/index.js';
import { repoPath } from '../../support/boot-device.js';
import { gateIn } from '../../support/skip.js';
import { suite } from 'uvu';
import { hasTool, isRoot, tempDir } from '../../support/tools.js';

const SCRIPT = repoPath('agent/init/ota-init');
const needs = !isRoot ? 'not root (mounts)' : !hasTool('unshare') ? 'missing unshare' : undefined;

/** A shell to run the script with: its argv, and the PATH it runs under. */
interface Shell { readonly argv: readonly string[]; readonly path: string }

/** busybox sh with every busybox applet first on PATH (a directory of links, removed at exit). */
function busyboxShell(): Shell {
  const dir = mkdtempSync(join(tmpdir(), 'ota-busybox-'));
  spawnSync('busybox', ['--install', '-s', dir]);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { argv: ['busybox', 'sh'], path: `${dir}:${process.env['PATH'] ?? ''}` };
}

/** A slot's root: /etc from `etc`, the directories the pre-init mounts on, and an init that runs its first argument. */
function slotRoot(dir: string, etc: Record<string, string>): string {
  for (const d of ['etc/ssh', 'var/lib', 'data', 'proc', 'sys', 'dev', 'run', 'sbin']) mkdirSync(join(dir, d), { recursive: true });
  for (const [name, text] of Object.entries(etc)) writeFileSync(join(dir, 'etc', name), text);
  writeFileSync(join(dir, 'sbin/init'), '#!/bin/sh\nexec /bin/sh -c "$1"\n', { mode: 0o755 });
  return dir;
}

/** Boot `root` through the pre-init with `cmdline`; init runs `step` (sh, $R is the root). */
function boot(shell: Shell, root: string, cmdline: string, step: string): { out: string; err: string; code: number | null } {
  const file = join(root, '..', `${root.split('/').pop() ?? 'x'}.cmdline`);
  writeFileSync(file, cmdline);
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', ...shell.argv, SCRIPT, step], {
    env: { ...process.env, PATH: shell.path, OTA_INIT_TEST_ROOT: root, OTA_INIT_CMDLINE: file, R: root }, encoding: 'utf8', timeout: 60_000,
  });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

/**
 * The directories docs/data-partition.md's layout names that the pre-init makes for `slot` (with their
 * parents), read from the doc's tree: a name with a `/` is a directory path, relative to the entry above
 * it; the agent's own (below ota-agent/) and the other slot's are left out.
 */
function documentedDirs(slot: 'A' | 'B'): string[] {
  const doc = readFileSync(repoPath('docs/data-partition.md'), 'utf8');
  const block = /## Layout\n+```\n\/data[^\n]*\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
  const parents: string[] = [];
  const dirs = new Set<string>();
  for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
    const at = line.search(/[A-Za-z]/);
    const depth = at / 4 - 1;
    const names = line.slice(at).split(/\s+/).filter((w) => /^[\w.-]+(\/[\w.-]+)*\/?$/.test(w) && w.includes('/'));
    for (const name of names) {
      const path = [...parents.slice(0, depth), name.replace(/\/$/, '')].join('/');
      if (name.endsWith('/')) parents[depth] = path;
      for (let p = path; p !== '.' && p !== ''; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') dirs.add(p);
    }
  }
  const other = slot === 'A' ? 'B' : 'A';
  return [...dirs].filter((d) => !d.startsWith('ota-agent/') && !d.startsWith(`overlay/${other}`)).sort();
}

/** Every directory below `dir`, relative, without lost+found and what an upper or work dir holds (the device's, overlayfs's). */
function dirsBelow(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'lost+found').flatMap((e) => {
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    return e.name === 'work' || e.name === 'upper' ? [path] : [path, ...dirsBelow(dir, path)];
  });
}

const SHOW = 'for f in hostname operator.conf motd new.conf ssh/sshd_config b-only.conf; do printf "%s=%s;" $f "$(cat $R/etc/$f 2>/dev/null || echo -)"; done; printf "state=%s" "$(cat $R/var/lib/ota-agent/state)"';

for (const [name, makeShell] of [
  ['dash', () => ({ argv: ['dash'], path: process.env['PATH'] ?? '' })],
  ['busybox sh', busyboxShell],
] as const) {
  const tests = suite(name);
  const tool = name.split(' ')[0] ?? name;
  const missing = needs ?? (hasTool(tool) ? undefined : `missing ${tool}`);
  const it = gateIn(tests, missing, name);
  it('A boots with its /etc changes on the data partition; B gets them at install, conflicts reported; a rollback shows A\'s view', async () => {
    const t = tempDir('ota-init-');
      const shell = makeShell();
    try {
      const a = slotRoot(join(t.dir, 'A'), { hostname: 'vendor\n', motd: 'A motd\n', 'ssh/sshd_config': 'A\n' });
      const b = slotRoot(join(t.dir, 'B'), { hostname: 'vendor\n', motd: 'B motd\n', 'ssh/sshd_config': 'B\n', 'new.conf': 'B\n' });
      const data = join(t.dir, 'data');
      mkdirSync(data);
      const first = boot(shell, a, `console=ttyAMA0 root=/dev/vda2 ota.slot=A ota.boot=1 ota.data=${data}\n`,
        'echo device-1 > $R/etc/hostname && echo op > $R/etc/operator.conf && rm $R/etc/motd && echo dev > $R/etc/ssh/sshd_config'
        + ' && echo s > $R/var/lib/ota-agent/state && printf "lower=%s;ok=%s;" "$(cat $R/run/ota/lower-etc/hostname)" "$(ls $R/run/ota/ota-init.ok)"'
      + ' && { touch $R/run/ota/lower-etc/x 2>/dev/null && printf "lower is writable;" || true; } && ' + SHOW);
      assert.is(first.code, 0, first.err);
      assert.is(first.out, `lower=vendor;ok=${a}/run/ota/ota-init.ok;hostname=device-1;operator.conf=op;motd=-;new.conf=-;ssh/sshd_config=dev;b-only.conf=-;state=s`, first.err);
      assert.match(first.err, /ota-init: slot A: \/etc and \/var on /);
      assert.is(readFileSync(join(a, 'etc/hostname'), 'utf8'), 'vendor\n', 'the slot itself was written');
      assert.ok(lstatSync(join(data, 'overlay/A/etc/upper/motd')).isCharacterDevice(), 'the deletion is a whiteout in A\'s upper');

      const merge = await prepareSlotEtc({ overlayDir: join(data, 'overlay'), lowerDir: join(a, 'etc') }, 'A', 'B', 2, await scanTree(join(b, 'etc')));
      assert.equal(merge.conflicts, { paths: ['motd', 'ssh/sshd_config'], total: 2 });

      const onB = boot(shell, b, `root=/dev/vda3 ota.slot=B ota.data=${data}`, `echo b > $R/etc/b-only.conf && ${SHOW}`);
      assert.is(onB.out, 'hostname=device-1;operator.conf=op;motd=-;new.conf=B;ssh/sshd_config=dev;b-only.conf=b;state=s', onB.err);
      const back = boot(shell, a, `root=/dev/vda2 ota.slot=A ota.data=${data}`, SHOW);
      assert.is(back.out, 'hostname=device-1;operator.conf=op;motd=-;new.conf=-;ssh/sshd_config=dev;b-only.conf=-;state=s', back.err);
    } finally {
      t.cleanup();
    }
  });

  it('without ota.slot= or without the data partition it says why and still runs init on the slot\'s own /etc', () => {
    const t = tempDir('ota-init-');
      const shell = makeShell();
    try {
      const a = slotRoot(join(t.dir, 'A'), { hostname: 'vendor\n' });
      for (const [cmdline, why] of [
        ['root=/dev/vda2', /FAILED: no ota\.slot=A\|B on the kernel command line/],
        [`root=/dev/vda2 ota.slot=A ota.data=${join(t.dir, 'none')}`, /FAILED: mount .*none on \/data/],
      ] as const) {
        const r = boot(shell, a, cmdline, 'printf "init ran: %s" "$(cat $R/etc/hostname)"; test -e $R/run/ota/ota-init.ok && echo " marked ok"');
        assert.is(r.out, 'init ran: vendor', r.err);
        assert.match(r.err, why);
        assert.match(r.err, /booting slot .* without the data partition's state: its health check will fail and the device reverts/);
      }
      assert.not.ok(existsSync(join(t.dir, 'none')), 'nothing created for a missing data partition');
    } finally {
      t.cleanup();
    }
  });
  it('an empty data partition (as ota-fleet image build makes it) is laid out at first boot as docs/data-partition.md lists it', async () => {
    const t = tempDir('ota-init-layout-');
    const shell = makeShell();
    try {
      for (const slot of ['A', 'B'] as const) {
        const root = slotRoot(join(t.dir, slot), { hostname: 'vendor\n' });
        const data = join(t.dir, `data-${slot}`);
        mkdirSync(join(data, 'lost+found'), { recursive: true });
        const r = boot(shell, root, `root=/dev/vda2 ota.slot=${slot} ota.data=${data}`, 'true');
        assert.is(r.code, 0, r.err);
        const expected = documentedDirs(slot);
        assert.ok(expected.includes(`overlay/${slot}/etc/upper`) && expected.includes('var/work') && expected.includes('ota-agent'), expected.join(' '));
        assert.equal(dirsBelow(data).sort(), expected, `slot ${slot}`);
        assert.is(lstatSync(join(data, 'ota-agent')).mode & 0o777, 0o700, 'the agent\'s directory is private');
      }
    } finally {
      t.cleanup();
    }
  });
  tests.run();
}
