// The .ota single-file release (docs/bundle.md): `ota-fleet release --bundle` writes it, `ota-agent install
// FILE.ota` installs from it as from the release directory (sim boot commits, slot B is v2 byte for byte) and
// `ota-agent verify FILE.ota` checks it. A bundle damaged anywhere (a byte of the notice, of the artifact the
// install would use, of one it would not, a byte cut off the end, a byte added after it) is refused by both
// with one typed line, and the install writes nothing: slot B and the env are as they were.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMain, tempDir } from '../../support/tools.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { agent, agentOk, fleetOk, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';

const MiB = 1024 * 1024;
const CONFIG = 'dev/agent.json';
const VERIFY = ['--root', 'keys/root.json', '--hardware', 'sim-board', '--installed-version', '1'];

/** Keys, v1 and v2 (2 MiB), release 2 with a delta from v1 as rel2/ and rel2.ota, a device on v1. */
async function setup(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 2 * MiB);
  patchImage(dir, 'v1.img', 'v2.img', 5000, 'release two');
  const r = await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys',
    '--out', 'rel2', '--from', 'v1.img', '--bundle', 'rel2.ota');
  assert.match(r.stdout, /wrote .*rel2\.ota \(bundle: notice and 2 artifact\(s\)/);
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
}

test('a bundle verifies, installs as its release directory does, and sim boot commits it', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    const verified = await agentOk(t.dir, 'verify', 'rel2.ota', ...VERIFY);
    assert.match(verified.stdout, /^accepted: release 2 .*\nbundle: 2 artifact\(s\), every segment matches its signed sha256\n$/);
    const install = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2.ota');
    assert.match(install.stdout, 'armed its trial boot');
    const boot = await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    assert.match(boot.stdout, 'committed slot B');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['version'], s['phase']], ['B', 2, 'idle']);
    assert.equal(s['lastUpdate'], { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'delta', payloadReason: 'base-matches' });
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))), 'slot B holds v2 byte for byte');
  } finally {
    t.cleanup();
  }
});

/** Damages of a bundle's bytes, each with the error code it must be refused with (a regexp on the refusal). */
const DAMAGES: { name: string; damage: (b: Buffer, noticeEnd: number) => Buffer; refusal: RegExp }[] = [
  { name: 'a byte of the magic flipped', damage: (b) => flip(b, 0), refusal: /not an \.ota bundle.*\[BUNDLE_INVALID\]$/ },
  { name: 'the notice length changed', damage: (b) => flip(b, 11), refusal: /\[[a-z-]+\]$|\[BUNDLE_[A-Z_]+\]$/ },
  { name: 'a byte of the notice flipped', damage: (b, noticeEnd) => flip(b, noticeEnd - 40), refusal: /\[[a-z-]+\]$|\[METADATA_[A-Z_]+\]$/ },
  { name: 'a hex digit of the release signature changed', damage: (b) => flip(b, b.indexOf('"sig":"', b.indexOf('"release"')) + 10), refusal: /\[[a-z-]+\]$/ },
  { name: 'a byte of the full image flipped (the install would use the delta)', damage: (b, noticeEnd) => flip(b, noticeEnd + 100), refusal: /\[ARTIFACT_CORRUPT\]$/ },
  { name: 'the last byte of the delta flipped', damage: (b) => flip(b, b.length - 1), refusal: /\[ARTIFACT_CORRUPT\]$/ },
  { name: 'cut inside the notice', damage: (b) => b.subarray(0, 20), refusal: /ends inside its notice.*\[BUNDLE_TRUNCATED\]$/ },
  { name: 'truncated by one byte', damage: (b) => b.subarray(0, b.length - 1), refusal: /truncated.*\[BUNDLE_TRUNCATED\]$/ },
  { name: 'one byte of trailing junk', damage: (b) => Buffer.concat([b, Buffer.from('x')]), refusal: /after the last artifact.*\[BUNDLE_TRAILING_DATA\]$/ },
];

function flip(b: Buffer, at: number): Buffer {
  const copy = Buffer.from(b);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

test('a damaged bundle is refused with one typed line by verify and install, and nothing is written', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    const bundle = readFileSync(join(t.dir, 'rel2.ota'));
    const noticeEnd = 12 + bundle.readUInt32BE(8);
    const slotB = readFileSync(join(t.dir, 'dev/slot-B.img'));
    const envBefore = readFileSync(join(t.dir, 'dev/env.img'));
    for (const d of DAMAGES) {
      writeFileSync(join(t.dir, 'bad.ota'), d.damage(bundle, noticeEnd));
      for (const argv of [['verify', 'bad.ota', ...VERIFY], ['--config', CONFIG, 'install', 'bad.ota']]) {
        const r = await agent(t.dir, ...argv);
        assert.is(r.code, 1, `${d.name}: ${argv.join(' ')}: ${r.stdout}${r.stderr}`);
        const lines = r.stderr.trimEnd().split('\n');
        assert.is(lines.length, 1, `${d.name}: one line: ${r.stderr}`);
        assert.match(lines[0] ?? '', d.refusal, `${d.name}: ${r.stderr}`);
        assert.not.match(r.stdout, 'armed', d.name);
      }
      assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(slotB), `${d.name}: slot B untouched`);
      assert.ok(readFileSync(join(t.dir, 'dev/env.img')).equals(envBefore), `${d.name}: the env untouched`);
      const s = await statusJson(t.dir, CONFIG);
      assert.equal([s['phase'], s['primary'], s['lastUpdate']], ['idle', 'A', null], d.name);
    }
  } finally {
    t.cleanup();
  }
});

test('release refuses a --bundle path it cannot write before it hashes anything', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v2.img', MiB);
    writeFileSync(join(t.dir, 'taken.ota'), 'x');
    for (const [bundle, refusal] of [['no-such-dir/rel.ota', /not a directory.*\[BUNDLE_WRITE\]\n$/], ['taken.ota', /already exists.*\[RELEASE_EXISTS\]\n$/]] as const) {
      const r = await runMain(fleetMain, ['release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel', '--bundle', bundle], { cwd: t.dir });
      assert.is(r.code, 1, r.stderr);
      assert.match(r.stderr, refusal);
      assert.not.ok(existsSync(join(t.dir, 'rel')), 'no release directory written');
    }
  } finally {
    t.cleanup();
  }
});

test.run();
