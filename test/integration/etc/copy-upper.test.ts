// The copy of a slot's overlay upper directory into the other slot's, on real files: what the device made
// through a mounted overlay (a whiteout for a deletion, an opaque directory for a directory deleted and
// made again) must act the same when the copy is mounted as an upper; owners, modes, symlinks and
// timestamps survive; a half-made copy left by a crash and the target's old tree are replaced, the source
// is untouched. Needs root (overlay mounts, chown, device nodes) and unshare.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyUpper, scanUpper, upperDirOf } from '../../../agent/src/etc/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { gate } from '../../support/skip.js';
import { hasTool, isRoot, tempDir } from '../../support/tools.js';

const it = gate(!isRoot ? 'not root (overlay mounts, chown, whiteouts)' : !hasTool('unshare') ? 'missing unshare' : undefined);

/** Mount an overlay of `lower` with `upperParent`/{upper,work} at `at` in a private namespace and run `script` (sh) there. */
function overlaySh(lower: string, upperParent: string, at: string, script: string): string {
  mkdirSync(at, { recursive: true });
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-ec',
    `mount -t overlay overlay -o lowerdir=${lower},upperdir=${upperParent}/upper,workdir=${upperParent}/work ${at}; cd ${at}; ${script}`], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

it('a copied upper shows the device\'s view over the lower: deletions, a replaced directory, owners, modes, links', async () => {
  const t = tempDir('ota-etc-copy-');
  try {
    const lower = join(t.dir, 'lower');
    mkdirSync(join(lower, 'network/interfaces.d'), { recursive: true });
    writeFileSync(join(lower, 'network/interfaces.d/eth0'), 'vendor\n');
    writeFileSync(join(lower, 'network/interfaces.d/wlan0'), 'vendor\n');
    writeFileSync(join(lower, 'motd'), 'vendor\n');
    const overlay = join(t.dir, 'overlay');
    const a = join(overlay, 'A/etc');
    mkdirSync(join(a, 'upper'), { recursive: true });
    mkdirSync(join(a, 'work'));
    overlaySh(lower, a, join(t.dir, 'mnt'), [
      'rm motd', 'rm -r network/interfaces.d', 'mkdir network/interfaces.d', 'echo device > network/interfaces.d/eth0',
      'echo key > ssh_host_key', 'chmod 0600 ssh_host_key', 'chown 1234:5678 ssh_host_key', 'ln -s /run/resolv.conf resolv.conf',
    ].join('; '));
    const source = await scanUpper(upperDirOf(overlay, 'A'));

    mkdirSync(join(overlay, '.B.new/etc/upper'), { recursive: true });
    writeFileSync(join(overlay, '.B.new/etc/upper/half'), 'a crash left this');
    mkdirSync(join(overlay, 'B/etc/upper'), { recursive: true });
    writeFileSync(join(overlay, 'B/etc/upper/stale'), 'B ran an older release');
    await copyUpper(overlay, 'A', 'B');

    assert.equal(readdirSync(overlay).sort(), ['A', 'B']);
    assert.equal(await scanUpper(upperDirOf(overlay, 'A')), source, 'the source changed');
    assert.equal(await scanUpper(upperDirOf(overlay, 'B')), source);
    assert.equal(readdirSync(join(overlay, 'B/etc/work')), []);
    const key = lstatSync(join(overlay, 'B/etc/upper/ssh_host_key'));
    assert.equal([key.uid, key.gid, key.mode & 0o7777, key.mtimeMs], [1234, 5678, 0o600, lstatSync(join(a, 'upper/ssh_host_key')).mtimeMs]);
    assert.is(readlinkSync(join(overlay, 'B/etc/upper/resolv.conf')), '/run/resolv.conf');
    const view = overlaySh(lower, join(overlay, 'B/etc'), join(t.dir, 'mnt'), 'ls -A . network/interfaces.d | tr "\\n" " "; cat network/interfaces.d/eth0');
    assert.is(view, '.: network resolv.conf ssh_host_key  network/interfaces.d: eth0 device\n', 'the copy does not act as the device\'s upper (whiteout or opaque directory lost)');
  } finally {
    t.cleanup();
  }
});

it('no upper for the running slot yet (first update before any change): the target gets an empty one', async () => {
  const t = tempDir('ota-etc-copy-');
  try {
    await copyUpper(t.dir, 'A', 'B');
    assert.equal([readdirSync(join(t.dir, 'B/etc')).sort(), readdirSync(join(t.dir, 'B/etc/upper'))], [['upper', 'work'], []]);
  } finally {
    t.cleanup();
  }
});

it('no data partition where the overlays should be: one typed error line naming it', async () => {
  const t = tempDir('ota-etc-copy-');
  try {
    const overlay = join(t.dir, 'overlay');
    writeFileSync(overlay, 'not a directory');
    const err = await copyUpper(overlay, 'A', 'B').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof OtaError, String(err));
    assert.is(err.code, 'ENOTDIR');
    assert.match(err.message, `etc: carrying slot A's /etc changes to slot B under ${overlay} (the data partition must be mounted, writable, not full): ENOTDIR`);
    assert.not.match(err.message, '\n');
  } finally {
    t.cleanup();
  }
});

test.run();
