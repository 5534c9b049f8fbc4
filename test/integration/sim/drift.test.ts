// Deltas on a drifted base: a root filesystem mounted read-write once no longer matches the base the
// release's delta was made from. The agent reads the booted slot before using a delta, installs the
// compressed full image instead, and says so in `status --json` and its log; a damaged segment of that
// full image is refused before it reaches the slot. Real CLIs, in-process, on a simulated device.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../support/tools.js';
import { agent, agentOk, fleetOk, patchImage, statusJson } from '../../support/sim-flow.js';

const MiB = 1024 * 1024;
const CONFIG = 'dev/agent.json';

/** An image that compresses like a root filesystem: text-like runs, some zeros, some noise. */
function writeFsLike(dir: string, name: string, sizeBytes: number): void {
  const bytes = Buffer.alloc(sizeBytes);
  for (let at = 0; at < sizeBytes - 4096; at += 8192) bytes.write(`block ${at} of a file system image, /usr/lib/libfoo.so.${at % 97}\n`.repeat(40).slice(0, 4096), at);
  writeFileSync(join(dir, name), bytes);
}

/** Keys; v1 and v2 (a patch of v1); release 2 with a delta from v1 and the compressed full image; a device on v1. */
async function setup(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeFsLike(dir, 'v1.img', 2 * MiB);
  patchImage(dir, 'v1.img', 'v2.img', 300_000, 'release two');
  await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2', '--from', 'v1.img');
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
}

/** Change one byte of slot A, as a read-write mount of the root would. */
function drift(dir: string, offsetBytes: number): void {
  const path = join(dir, 'dev/slot-A.img');
  const bytes = readFileSync(path);
  bytes[offsetBytes] = (bytes[offsetBytes] ?? 0) ^ 0x5a;
  writeFileSync(path, bytes);
}

interface Entry { readonly path: string; readonly format: string; readonly segments: { offset: number; sizeBytes: number }[] }

/** The release's full-image entry, as release.json lists it. */
function fullImageEntry(dir: string): Entry {
  const parsed: unknown = JSON.parse(readFileSync(join(dir, 'rel2/release.json'), 'utf8'));
  const image: unknown = typeof parsed === 'object' && parsed !== null && 'signed' in parsed && typeof parsed.signed === 'object' && parsed.signed !== null && 'image' in parsed.signed ? parsed.signed.image : undefined;
  if (typeof image !== 'object' || image === null || !('path' in image) || !('format' in image) || !('segments' in image)) throw new Error('release.json has no image entry');
  const { path, format, segments } = image;
  if (typeof path !== 'string' || typeof format !== 'string' || !Array.isArray(segments)) throw new Error('release.json image entry is malformed');
  return { path, format, segments: segments.map((s: unknown) => ({ offset: Number(s !== null && typeof s === 'object' && 'offset' in s ? s.offset : NaN), sizeBytes: Number(s !== null && typeof s === 'object' && 'sizeBytes' in s ? s.sizeBytes : NaN) })) };
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

test('one byte of slot A changed after sim create: install uses the full image, sim boot commits, status says why', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    drift(t.dir, 1_000_000);
    const install = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.match(install.stdout, /slot A \(.*slot-A\.img\) is not the base the release's delta was made from .*: installing the full image instead/);
    assert.match(install.stdout, 'kind=full reason=base-drifted');
    let s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['phase']], ['A', 'B', 'rebooting']);

    const boot = await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    assert.match(boot.stdout, 'committed slot B');
    s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['phase']], ['B', 'B', 2, 'idle']);
    assert.equal(s['lastUpdate'], { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'base-drifted' });
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))), 'slot B holds v2 byte for byte');
    const human = await agentOk(t.dir, '--config', CONFIG, 'status');
    assert.match(human.stdout, 'last update: installed (release 2), full image (base-drifted)');
  } finally { t.cleanup(); }
});

test('the same release on an undrifted device: the delta is used, and the full image is compressed', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    const entry = fullImageEntry(t.dir);
    assert.is(entry.format, 'otadelta');
    const stored = readFileSync(join(t.dir, 'rel2', entry.path)).length;
    assert.ok(stored < MiB, `the compressed full image is ${stored} bytes for a 2 MiB image`);
    const install = await agentOk(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.match(install.stdout, 'kind=delta reason=base-matches');
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    const s = await statusJson(t.dir, CONFIG);
    assert.equal(s['lastUpdate'], { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'delta', payloadReason: 'base-matches' });
    assert.ok(readFileSync(join(t.dir, 'dev/slot-B.img')).equals(readFileSync(join(t.dir, 'v2.img'))), 'slot B holds v2 byte for byte');
  } finally { t.cleanup(); }
});

test('a damaged segment of the full image is refused before it reaches the slot', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    drift(t.dir, 4096);
    const entry = fullImageEntry(t.dir);
    const seg = entry.segments[1];
    if (seg === undefined) throw new Error('the full image has no segment after its header');
    const file = join(t.dir, 'rel2', entry.path);
    const bytes = readFileSync(file);
    const at = seg.offset + Math.floor(seg.sizeBytes / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 1;
    writeFileSync(file, bytes);
    const slotB = join(t.dir, 'dev/slot-B.img');
    const before = sha(readFileSync(slotB));

    const r = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, `segment at ${seg.offset} does not match its signed sha256`);
    // Local media are read whole before the install starts: a refusal, not a failed install.
    assert.match(r.stderr, 'copy the release again [ARTIFACT_CORRUPT]', r.stderr);
    assert.is(sha(readFileSync(slotB)), before, 'slot B is untouched');
  } finally { t.cleanup(); }
});

test.run();
