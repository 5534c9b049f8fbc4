// /etc across an update on a simulated device, with real CLIs: releases made by `ota-fleet release` from
// ext4 images (mke2fs -d) record their /etc manifest; the device's overlay (a fake upper for slot A and
// its pristine /etc, where the pre-init would have put them) is carried to slot B by `install`, and the
// paths both the device and release 2 changed are reported in the log and in `status --json`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '../../../agent/src/etc/index.js';
import { gate } from '../../support/skip.js';
import { hasTool, tempDir } from '../../support/tools.js';
import { agentOk, fleetOk, statusJson, writeImage } from '../../support/sim-flow.js';

const it = gate(!hasTool('mke2fs') ? 'missing mke2fs' : !hasTool('debugfs') ? 'missing debugfs' : undefined);
const CONFIG = 'dev/agent.json';

/** An ext4 image of 4 MiB whose /etc holds `etc`. */
function ext4(dir: string, name: string, etc: Record<string, string>): string {
  const root = join(dir, `${name}.root`);
  mkdirSync(join(root, 'etc/ssh'), { recursive: true });
  for (const [path, text] of Object.entries(etc)) writeFileSync(join(root, 'etc', path), text, { mode: path.startsWith('ssh/') ? 0o600 : 0o644 });
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-b', '4096', '-U', '11111111-2222-3333-4444-555555555555', '-E', 'hash_seed=11111111-2222-3333-4444-555555555555', '-d', root, join(dir, name), '4M'], { env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } });
  return root;
}

/** A device on v1.img whose config points `etc` at DIR/dev/overlay and slot A's pristine /etc, with A's upper holding `upper`. */
async function device(dir: string, v1Root: string, upper: Record<string, string>): Promise<void> {
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
  const config: unknown = JSON.parse(readFileSync(join(dir, CONFIG), 'utf8'));
  writeFileSync(join(dir, CONFIG), JSON.stringify({ ...(typeof config === 'object' ? config : {}), etc: { overlayDir: 'overlay', lowerDir: 'lower-etc' } }));
  cpSync(join(v1Root, 'etc'), join(dir, 'dev/lower-etc'), { recursive: true });
  const a = join(dir, 'dev/overlay/A/etc/upper');
  mkdirSync(join(a, 'ssh'), { recursive: true });
  for (const [path, text] of Object.entries(upper)) writeFileSync(join(a, path), text, { mode: path.startsWith('ssh/') ? 0o600 : 0o644 });
}

const listing = (dir: string): string[] => (readdirSync(dir, { recursive: true }) as string[]).sort();

it('install (from the release\'s .ota bundle) carries slot A\'s /etc changes to B and reports what release 2 changed too; A\'s upper is untouched', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    const v1 = ext4(t.dir, 'v1.img', { hostname: 'vendor\n', motd: 'v1\n', 'ssh/sshd_config': 'v1\n', 'issue': 'v1\n' });
    ext4(t.dir, 'v2.img', { hostname: 'vendor\n', motd: 'v2\n', 'ssh/sshd_config': 'v2\n', 'issue': 'v1\n', 'new.conf': 'v2\n' });
    const made = await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2', '--from', 'v1.img', '--bundle', 'rel2.ota');
    assert.match(made.stdout, /wrote .*rel2\.ota \(bundle: notice and 3 artifact\(s\)/);
    const release: unknown = JSON.parse(readFileSync(join(t.dir, 'rel2/release.json'), 'utf8'));
    const etc = typeof release === 'object' && release !== null && 'signed' in release && typeof release.signed === 'object' && release.signed !== null && 'etc' in release.signed ? release.signed.etc : undefined;
    const path = typeof etc === 'object' && etc !== null && 'path' in etc && typeof etc.path === 'string' ? etc.path : '';
    assert.ok(path !== '', `no etc artifact in release.json: ${made.stdout}`);
    assert.match(made.stdout, 'recorded the /etc manifest (6 paths)');
    const manifest = parseManifest(readFileSync(join(t.dir, 'rel2', path)), 'manifest');
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    assert.equal([manifest.get('motd'), manifest.get('ssh/sshd_config'), manifest.get('ssh')?.kind, manifest.get('new.conf')?.kind],
      [{ kind: 'file', mode: 0o644, sha256: sha('v2\n') }, { kind: 'file', mode: 0o600, sha256: sha('v2\n') }, 'dir', 'file']);

    await device(t.dir, v1, { hostname: 'device-1\n', motd: 'operator motd\n', 'operator.conf': 'op\n', 'ssh/sshd_config': 'v2\n' });
    const before = listing(join(t.dir, 'dev/overlay/A'));
    const install = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2.ota');
    assert.match(install.stdout, /\/etc: 1 file\(s\) the device changed were also changed by release 2; the device's versions are kept: motd/, install.stdout);
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['version'], s['lastUpdate']], ['B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'delta', payloadReason: 'base-matches', etcConflicts: ['motd'] }]);
    const human = await agentOk(t.dir, '--config', CONFIG, 'status');
    assert.match(human.stdout, "/etc conflicts (the device's versions kept): motd");
    const b = join(t.dir, 'dev/overlay/B/etc');
    assert.equal(listing(b), ['upper', 'upper/hostname', 'upper/motd', 'upper/operator.conf', 'upper/ssh', 'upper/ssh/sshd_config', 'work']);
    assert.is(readFileSync(join(b, 'upper/hostname'), 'utf8'), 'device-1\n');
    assert.equal(listing(join(t.dir, 'dev/overlay/A')), before, 'slot A\'s upper changed');
    assert.equal(listing(join(t.dir, 'dev/overlay')), ['A', ...before.map((p) => `A/${p}`), 'B', ...listing(join(t.dir, 'dev/overlay/B')).map((p) => `B/${p}`)], 'a temp tree was left behind');
  } finally { t.cleanup(); }
});

it('a release without an /etc manifest (not ext4, or --etc-manifest none): the changes still go to B, and the log says they were not checked', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    const v1 = ext4(t.dir, 'v1.img', { hostname: 'vendor\n' });
    writeImage(t.dir, 'v2.img', 4 * 1024 * 1024);
    const made = await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
    assert.match(made.stdout, 'no /etc manifest: v2.img is not ext4 or has no /etc');
    const none = await fleetOk(t.dir, 'release', '--image', 'v1.img', '--version', '3', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel3', '--etc-manifest', 'none');
    assert.match(none.stdout, 'no /etc manifest: --etc-manifest none');
    assert.not.match(readFileSync(join(t.dir, 'rel3/release.json'), 'utf8'), '"etc"', 'an ext4 image released with --etc-manifest none carries no manifest');
    await device(t.dir, v1, { hostname: 'device-1\n' });
    const install = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.match(install.stdout, "release 2 carries no /etc manifest: the device's changes to /etc go to slot B unchecked");
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal(s['lastUpdate'], { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' });
    assert.is(readFileSync(join(t.dir, 'dev/overlay/B/etc/upper/hostname'), 'utf8'), 'device-1\n');
  } finally { t.cleanup(); }
});

test.run();
