// An empty or tiny image is refused when a release is made, and a device refuses to arm a slot checked
// against an expectation that proves nothing (0 bytes hash the same whatever the slot holds: the trial
// booted the old release, reported as new). A slot given the image the other slot already ran is
// armed, with a warning in the log and in status.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { canonicalBytes, RAW_FORMAT } from '../../../agent/src/formats/index.js';
import { writeFileAtomic } from '../../../agent/src/durable/index.js';
import { loadCurrentRoot, roleKeys } from '../../../fleet/src/keys/index.js';
import { signRelease, writeRollout } from '../../../fleet/src/release/index.js';
import { runMain, tempDir } from '../../support/tools.js';
import { agent, agentOk, fleetOk, statusJson, writeImage } from '../../support/sim-flow.js';

const CONFIG = 'dev/agent.json';
const DAY_MS = 86_400_000;

async function device(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 64 * 1024);
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
}

/** A release of `image` signed with the fleet's keys without the release command's checks (what a careless or older tool signs). */
async function signedRelease(dir: string, out: string, version: number, image: Buffer): Promise<void> {
  const sha256 = createHash('sha256').update(image).digest('hex');
  const path = `targets/${sha256}.img`;
  mkdirSync(join(dir, out, 'targets'), { recursive: true });
  writeFileSync(join(dir, out, path), image);
  const keys = join(dir, 'keys');
  const releaseKeys = await roleKeys(keys, (await loadCurrentRoot(keys)).root, 'release');
  const segments = image.length === 0 ? [] : [{ offset: 0, sizeBytes: image.length, sha256 }];
  const release = signRelease({
    version, expiresMs: Date.now() + 30 * DAY_MS, hardware: ['hw'], installed: { sizeBytes: image.length, sha256 },
    image: { path, format: RAW_FORMAT, sizeBytes: image.length, sha256, segments }, deltas: [],
  }, releaseKeys);
  await writeFileAtomic(join(dir, out, 'release.json'), canonicalBytes(release));
  await writeRollout(keys, join(dir, out), join(dir, out, 'notice.json'), { devices: [], cohorts: [], expiresMs: Date.now() + 7 * DAY_MS, spreadSeconds: 0, nowMs: Date.now() });
}

test('ota-fleet release refuses an empty image and one smaller than 4096 bytes, writing nothing', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    for (const sizeBytes of [0, 1, 4095]) {
      writeImage(t.dir, 'tiny.img', sizeBytes);
      const r = await runMain(fleetMain, ['release', '--image', 'tiny.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel'], { cwd: t.dir });
      assert.is(r.code, 1, `${sizeBytes} bytes`);
      assert.match(r.stderr, new RegExp(`--image .*tiny\\.img has ${sizeBytes} bytes, less than the 4096 .*\\[IMAGE_IMPLAUSIBLE\\]\\n$`));
      assert.is(r.stderr.split('\n').length, 2, 'one line');
      assert.not.ok(existsSync(join(t.dir, 'rel')), 'nothing written');
    }
    writeImage(t.dir, 'ok.img', 4096);
    await fleetOk(t.dir, 'release', '--image', 'ok.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel');
  } finally { t.cleanup(); }
});

test('a signed release of an empty image is never armed: the install fails, slot A stays primary, the floor stays', async () => {
  const t = tempDir();
  try {
    await device(t.dir);
    await signedRelease(t.dir, 'rel2', 2, Buffer.alloc(0));
    const slotB = readFileSync(join(t.dir, 'dev/slot-B.img'));
    const r = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, /release 2's image has 0 bytes, less than the 4096/);
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['phase']], ['A', 'A', 1, 'idle']);
    const last = s['lastUpdate'] as { outcome: string; version: number; error: string };
    assert.equal([last.outcome, last.version], ['failed', 2]);
    assert.match(last.error, /has 0 bytes, less than the 4096/);
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(slotB), 'slot B untouched');
    assert.equal((s['slots'] as Record<string, { state: string }>)['B']?.state, 'bad', 'slot B was never bootable');
    // the floor did not move: release 2 done right is still accepted
    writeImage(t.dir, 'v2.img', 64 * 1024);
    await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2b');
  } finally { t.cleanup(); }
});

test('a slot given the image the other slot already runs is armed with a warning in the log and in status', async () => {
  const t = tempDir();
  try {
    await device(t.dir);
    await fleetOk(t.dir, 'release', '--image', 'v1.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2');
    const r = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.match(r.stdout, /slot B holds the image slot A already ran \(release 1\): release 2 changes nothing/);
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['primary'], s['phase']], ['B', 'rebooting']);
    const slots = s['slots'] as Record<string, { warning: string | null }>;
    assert.is(slots['B']?.warning, 'holds the image slot A already ran (release 1): release 2 changes nothing');
    assert.is(slots['A']?.warning, null);
    const text = await agentOk(t.dir, '--config', CONFIG, 'status');
    assert.match(text.stdout, /slot B: .*; warning: holds the image slot A already ran/);
  } finally { t.cleanup(); }
});

test.run();
