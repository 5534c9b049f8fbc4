import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDeltaFile } from '../../../agent/src/delta/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { parseDeltaHeader } from '../../../agent/src/formats/index.js';
import { tempDir } from '../../support/tools.js';
import { randomBytes, roundTrip } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-rt-');
test.after(cleanup);

const KiB = 1024;
const base = Buffer.concat([randomBytes(40 * KiB, 7), Buffer.alloc(24 * KiB), randomBytes(30 * KiB, 8)]);

const cases: [string, Uint8Array, Uint8Array][] = [
  ['empty to empty', new Uint8Array(0), new Uint8Array(0)],
  ['empty to data', new Uint8Array(0), randomBytes(10 * KiB, 2)],
  ['data to empty', base, new Uint8Array(0)],
  ['identical', base, Buffer.from(base)],
  ['all different', base, randomBytes(base.length, 99)],
  ['shifted by one byte', base, Buffer.concat([Uint8Array.of(0x42), base])],
  ['truncated', base, base.subarray(0, base.length - 5000)],
  ['grown', base, Buffer.concat([base, randomBytes(9000, 3)])],
  ['shrunk in the middle', base, Buffer.concat([base.subarray(0, 10000), base.subarray(20000)])],
  ['blocks moved', base, Buffer.concat([base.subarray(64 * KiB), base.subarray(0, 64 * KiB)])],
  ['scattered byte changes', base, Buffer.from(base.map((b, i) => (i % 997 === 0 ? b ^ 0x5a : b)))],
  ['one partial block', randomBytes(100, 4), randomBytes(101, 4)],
];

for (const [name, old, neu] of cases) {
  test(`round trip: ${name}`, async () => {
    const { delta, rebuilt } = await roundTrip(dir, old, neu);
    assert.ok(Buffer.compare(rebuilt, neu) === 0, 'rebuilt image differs');
    const h = parseDeltaHeader(delta);
    assert.is(h.targetSizeBytes, neu.length);
    assert.is(h.baseSizeBytes, old.length);
  });
}

test('a shifted image costs far less than a full one (approximate matches)', async () => {
  const shifted = Buffer.concat([Uint8Array.of(1), base]);
  const { delta } = await roundTrip(dir, base, shifted);
  const { delta: full } = await roundTrip(dir, undefined, shifted);
  assert.ok(delta.length * 10 < full.length, `delta ${delta.length} vs full ${full.length}`);
});

test('a file-backed slot larger than the image keeps its size and tail; its old bytes under zero runs are overwritten', async () => {
  // The new image has long zero runs (which a fresh file leaves as holes) over a slot full of old 0xAA bytes.
  const neu = Buffer.concat([randomBytes(20 * KiB, 11), Buffer.alloc(300 * KiB), randomBytes(9 * KiB, 12), Buffer.alloc(70 * KiB)]);
  const slotBytes = 1024 * KiB;
  const slot = join(dir, 'slot-b.img');
  writeFileSync(slot, Buffer.alloc(slotBytes, 0xaa));
  writeFileSync(join(dir, 'slot.delta'), encodeDelta(undefined, neu).delta);
  await applyDeltaFile({ deltaPath: join(dir, 'slot.delta'), targetPath: slot });
  const after = readFileSync(slot);
  assert.is(after.length, slotBytes, 'the slot was truncated');
  assert.ok(after.subarray(0, neu.length).equals(neu), 'image differs');
  assert.ok(after.subarray(neu.length).equals(Buffer.alloc(slotBytes - neu.length, 0xaa)), 'the slot past the image changed');
});

test('a full image is the same container without a base, and round-trips', async () => {
  const neu = Buffer.concat([Buffer.alloc(8192), randomBytes(5000, 5)]);
  const { delta, rebuilt } = await roundTrip(dir, undefined, neu);
  assert.ok(parseDeltaHeader(delta).full);
  assert.ok(Buffer.compare(rebuilt, neu) === 0);
});

test('property: any edit sequence round-trips', async () => {
  const edit = fc.record({ at: fc.nat(), drop: fc.nat({ max: 3000 }), insert: fc.uint8Array({ maxLength: 2000 }) });
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 9000 }), fc.array(edit, { maxLength: 6 }), fc.boolean(), async (seed, edits, blocks) => {
    const old = blocks ? Buffer.concat([seed, Buffer.alloc(4096), seed]) : Buffer.from(seed);
    let neu = Buffer.from(old);
    for (const e of edits) {
      const at = neu.length === 0 ? 0 : e.at % neu.length;
      neu = Buffer.concat([neu.subarray(0, at), e.insert, neu.subarray(at + e.drop)]);
    }
    const { rebuilt } = await roundTrip(dir, old, neu);
    assert.ok(Buffer.compare(rebuilt, neu) === 0);
  }), { numRuns: 40 });
});

test.run();
