// The payload choice: a delta only when the booted slot reads as the delta's base; otherwise the full
// image, with the reason. The base is read once (a fake reader counts the reads).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { choosePayload, type ReadBase } from '../../../agent/src/device/index.js';
import { deltaFor, type Artifact, type DeltaArtifact, type ImageDigest, type ReleaseMetadata } from '../../../agent/src/formats/index.js';

const h = (c: string): string => c.repeat(64);
const artifact = (path: string): Artifact => ({ path, format: 'otadelta', sizeBytes: 10, sha256: h('e'), segments: [{ offset: 0, sizeBytes: 10, sha256: h('e') }] });
const delta = (path: string, base: ImageDigest): DeltaArtifact => ({ ...artifact(path), base });

const V1: ImageDigest = { sizeBytes: 1000, sha256: h('1') };
const V0: ImageDigest = { sizeBytes: 900, sha256: h('0') };
const release: ReleaseMetadata = {
  version: 2, expiresMs: 0, hardware: ['hw'], channels: ['stable'], installed: { sizeBytes: 1200, sha256: h('2') },
  image: artifact('targets/full.img.otadelta'), deltas: [delta('targets/from-v1.delta', V1), delta('targets/from-v0.delta', V0)],
};

/** A reader of a slot whose first N bytes hash to `slot[N]` (undefined: the slot is shorter); counts reads. */
function slotReading(slot: Readonly<Record<number, string>>): { read: ReadBase; reads: number[] } {
  const reads: number[] = [];
  return { reads, read: (n) => { reads.push(n); return Promise.resolve(slot[n]); } };
}

test('the booted slot is the recorded base: the delta, with the digest read (one read of the base)', async () => {
  const r = slotReading({ 1000: V1.sha256 });
  const c = await choosePayload(release, V1, r.read);
  assert.equal([c.payload, c.reason, c.artifact.path, c.baseSha256], ['delta', 'base-matches', 'targets/from-v1.delta', V1.sha256]);
  assert.equal(r.reads, [1000]);
});

test('one byte drifted: the full image, because the base drifted, and what the slot reads as', async () => {
  const r = slotReading({ 1000: h('d') });
  const c = await choosePayload(release, V1, r.read);
  assert.equal([c.payload, c.reason, c.artifact.path, c.baseSha256, c.found], ['full', 'base-drifted', 'targets/full.img.otadelta', undefined, { sizeBytes: 1000, sha256: h('d') }]);
  assert.equal(r.reads, [1000]);
});

test('a slot shorter than the base drifted too', async () => {
  const r = slotReading({});
  const c = await choosePayload(release, V1, r.read);
  assert.equal([c.payload, c.reason], ['full', 'base-drifted']);
});

test('the release has no delta from what the records say: the full image, without reading the slot', async () => {
  const r = slotReading({ 1000: V1.sha256 });
  const c = await choosePayload(release, { sizeBytes: 1000, sha256: h('7') }, r.read);
  assert.equal([c.payload, c.reason], ['full', 'no-delta-for-base']);
  assert.equal(r.reads, []);
  const none = await choosePayload({ ...release, deltas: [] }, V1, r.read);
  assert.equal([none.payload, none.reason, r.reads], ['full', 'no-delta-for-base', []]);
});

test('a delta in a container format newer than this agent applies: the full image, saying so, without reading the slot', async () => {
  const r = slotReading({ 1000: V1.sha256 });
  const newer: ReleaseMetadata = { ...release, deltas: [{ ...delta('targets/from-v1.delta', V1), format: 'otadelta-9' }] };
  const c = await choosePayload(newer, V1, r.read);
  assert.equal([c.payload, c.reason, c.artifact.path, r.reads], ['full', 'delta-format-unknown', 'targets/full.img.otadelta', []]);
  // the container versions this agent reads, by name
  const v2: ReleaseMetadata = { ...release, deltas: [{ ...delta('targets/from-v1.delta', V1), format: 'otadelta-2' }] };
  assert.equal((await choosePayload(v2, V1, r.read)).reason, 'base-matches');
  assert.is(deltaFor(newer, V1), undefined, 'verify picks no delta it cannot apply either');
  assert.is(deltaFor(v2, V1)?.format, 'otadelta-2');
});

test('no slot record: the slot is read once per base size the deltas name, and a matching one is used', async () => {
  const r = slotReading({ 1000: h('x'), 900: V0.sha256 });
  const c = await choosePayload(release, undefined, r.read);
  assert.equal([c.payload, c.reason, c.artifact.path], ['delta', 'base-matches', 'targets/from-v0.delta']);
  assert.equal(r.reads, [1000, 900]);
  const miss = await choosePayload(release, undefined, slotReading({ 1000: h('x') }).read);
  assert.equal([miss.payload, miss.reason], ['full', 'no-delta-for-base']);
});

test.run();
