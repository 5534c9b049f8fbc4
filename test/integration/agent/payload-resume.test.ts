// The payload choice saved on the data partition: a resumed install continues the artifact its
// progress counts bytes of, and starts over (byte 0, choice saved again) when that artifact changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PayloadStore, payloadFor, type ReadBase } from '../../../agent/src/device/index.js';
import type { Artifact, ImageDigest, ReleaseMetadata } from '../../../agent/src/formats/index.js';
import { tempDir } from '../../support/tools.js';

const h = (c: string): string => c.repeat(64);
const artifact = (path: string): Artifact => ({ path, format: 'otadelta', sizeBytes: 10, sha256: h('e'), segments: [{ offset: 0, sizeBytes: 10, sha256: h('e') }] });
const V1: ImageDigest = { sizeBytes: 1000, sha256: h('1') };
const release: ReleaseMetadata = {
  version: 2, expiresMs: 0, hardware: ['hw'], channels: ['stable'], installed: { sizeBytes: 1200, sha256: h('2') },
  image: artifact('targets/full.img.otadelta'), deltas: [{ ...artifact('targets/from-v1.delta'), base: V1 }],
};

function reader(sha256: string): { read: ReadBase; reads: () => number } {
  let n = 0;
  return { reads: () => n, read: () => { n++; return Promise.resolve(sha256); } };
}

async function run(store: PayloadStore, progressBytes: number, base: ReturnType<typeof reader>) {
  return payloadFor({ release, version: 2, target: 'B', progressBytes, recorded: V1, readBase: base.read, store });
}

test('a fresh install saves its choice; a resumed full image continues without reading the base', async () => {
  const t = tempDir();
  try {
    const store = new PayloadStore(t.dir);
    const first = await run(store, 0, reader(h('d')));
    assert.equal([first.choice.payload, first.choice.reason, first.fromBytes], ['full', 'base-drifted', 0]);
    assert.equal(await store.load(), { version: 2, target: 'B', artifact: 'targets/full.img.otadelta', payload: 'full', reason: 'base-drifted' });
    const base = reader(V1.sha256);
    const resumed = await run(store, 4096, base);
    assert.equal([resumed.choice.payload, resumed.choice.reason, resumed.fromBytes, base.reads()], ['full', 'base-drifted', 4096, 0]);
  } finally { t.cleanup(); }
});

test('a resumed delta whose base drifted since starts the full image over at byte 0', async () => {
  const t = tempDir();
  try {
    const store = new PayloadStore(t.dir);
    assert.is((await run(store, 0, reader(V1.sha256))).choice.payload, 'delta');
    const same = await run(store, 4096, reader(V1.sha256));
    assert.equal([same.choice.payload, same.fromBytes], ['delta', 4096]);
    const drifted = await run(store, 4096, reader(h('d')));
    assert.equal([drifted.choice.payload, drifted.choice.reason, drifted.fromBytes], ['full', 'base-drifted', 0]);
    assert.is((await store.load())?.payload, 'full');
  } finally { t.cleanup(); }
});

test('progress with no saved choice (an agent updated mid-install) continues only the artifact the records pick', async () => {
  const t = tempDir();
  try {
    const store = new PayloadStore(t.dir);
    const same = await run(store, 4096, reader(V1.sha256));
    assert.equal([same.choice.payload, same.fromBytes], ['delta', 4096], 'the older agent applied this delta');
    assert.is((await store.load())?.artifact, 'targets/from-v1.delta', 'and the choice is saved from now on');
    writeFileSync(join(t.dir, 'payload.json'), '{"format":"ota-payload/1","version":"2"');
    assert.is(await store.load(), undefined, 'a damaged record reads as none');
    const drifted = await run(store, 4096, reader(h('d')));
    assert.equal([drifted.choice.payload, drifted.fromBytes], ['full', 0], 'the progress counted delta bytes');
  } finally { t.cleanup(); }
});

test('a choice saved for another release or slot is not resumed', async () => {
  const t = tempDir();
  try {
    const store = new PayloadStore(t.dir);
    await store.save({ version: 1, target: 'B', artifact: 'targets/from-v1.delta', payload: 'delta', reason: 'base-matches' });
    assert.is((await run(store, 4096, reader(V1.sha256))).fromBytes, 0, 'saved for release 1');
    await store.save({ version: 2, target: 'A', artifact: 'targets/from-v1.delta', payload: 'delta', reason: 'base-matches' });
    assert.is((await run(store, 4096, reader(V1.sha256))).fromBytes, 0, 'saved for slot A');
  } finally { t.cleanup(); }
});

test.run();
