import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { ContentIndex, encodeDelta, matchRange, type DiffPiece } from '../../../fleet/src/delta/index.js';
import { randomBytes, roundTrip } from '../../support/delta.js';
import { tempDir } from '../../support/tools.js';

const { dir, cleanup } = tempDir('ota-delta-matcher-');
test.after(cleanup);

/** Rebuild neu[lo, hi) from the pieces, checking they are contiguous and cover the range. */
function rebuild(old: Uint8Array, neu: Uint8Array, pieces: readonly DiffPiece[], lo: number, hi: number): Buffer {
  const out = Buffer.alloc(hi - lo);
  let expect = lo;
  for (const p of pieces) {
    assert.is(p.newOffsetBytes, expect, 'pieces are contiguous');
    for (let i = 0; i < p.lengthBytes; i++) {
      const at = p.newOffsetBytes + i;
      // An ADD is old plus (new - old): only the old offset can be wrong, which the comparison with neu catches.
      out[at - lo] = p.kind === 'add' ? old[p.oldOffsetBytes + i]! + ((neu[at]! - old[p.oldOffsetBytes + i]!) & 0xff) : neu[at]!;
      if (p.kind === 'add') assert.ok(p.oldOffsetBytes + i < old.length && p.oldOffsetBytes >= 0, 'reads inside the old image');
    }
    expect += p.lengthBytes;
  }
  assert.is(expect, hi, 'pieces cover the range');
  return out;
}

const added = (pieces: readonly DiffPiece[]): number => pieces.reduce((n, p) => n + (p.kind === 'add' ? p.lengthBytes : 0), 0);

test('a run moved to any alignment is found at its exact old offset, wherever it lies in the old image', () => {
  const old = Buffer.concat([randomBytes(300000, 1), Buffer.alloc(8192), randomBytes(50000, 2)]);
  for (const [from, to] of [[12345, 777], [300000 + 8192 + 3, 1], [5, 40001]] as const) {
    const neu = Buffer.concat([randomBytes(to, 9), old.subarray(from, from + 5000), randomBytes(100, 10)]);
    const pieces = matchRange(new ContentIndex(old), neu, 0, neu.length);
    const hit = pieces.find((p) => p.kind === 'add');
    assert.ok(hit !== undefined && hit.kind === 'add');
    assert.is(hit.oldOffsetBytes - hit.newOffsetBytes, from - to, `moved from ${from} to ${to}`);
    assert.ok(added(pieces) >= 5000 && added(pieces) < 5000 + 64, `${added(pieces)}`);
    assert.ok(rebuild(old, neu, pieces, 0, neu.length).equals(neu));
  }
});

test('an edited copy is one approximate match (ADD), not many pieces', () => {
  const old = randomBytes(200000, 3);
  const copy = Buffer.from(old.subarray(50000, 150000).map((b, i) => (i % 500 === 0 ? b ^ 1 : b)));
  const neu = Buffer.concat([randomBytes(999, 4), copy]);
  const pieces = matchRange(new ContentIndex(old), neu, 0, neu.length);
  assert.ok(pieces.filter((p) => p.kind === 'add').length <= 2, JSON.stringify(pieces.slice(0, 5)));
  assert.ok(added(pieces) >= 99000);
  assert.ok(rebuild(old, neu, pieces, 0, neu.length).equals(neu));
});

test('pieces cover any range exactly and rebuild it (random images made of old runs, noise and flat runs)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.array(fc.tuple(fc.nat(60000), fc.integer({ min: 1, max: 3000 }), fc.constantFrom('old', 'noise', 'flat')), { maxLength: 12 }), (seed, parts) => {
    const old = Buffer.concat([randomBytes(40000, seed), Buffer.alloc(4096, 0xff), Buffer.alloc(8192), randomBytes(20000, seed + 1)]);
    const neu = Buffer.concat(parts.map(([at, n, kind], i) => (kind === 'old' ? old.subarray(at % old.length, (at % old.length) + n)
      : kind === 'noise' ? randomBytes(n, seed + i + 2) : Buffer.alloc(n, 0xff))));
    const index = new ContentIndex(old);
    const lo = Math.min(neu.length, seed % 7);
    const pieces = matchRange(index, neu, lo, neu.length, [seed % 13]);
    assert.ok(rebuild(old, neu, pieces, lo, neu.length).equals(neu.subarray(lo)));
  }), { numRuns: 60 });
});

test('the index holds no zero block and about half a byte per indexed old byte', () => {
  const data = randomBytes(1 << 20, 5);
  const sparse = Buffer.concat([data, Buffer.alloc(16 << 20)]);
  assert.ok(new ContentIndex(sparse).sizeBytes <= data.length, `${new ContentIndex(sparse).sizeBytes}`);
  assert.is(matchRange(new ContentIndex(sparse), Buffer.alloc(4096), 0, 4096).filter((p) => p.kind === 'add').length, 0);
});

test('a delta of data shifted by less than a block is at most 0.1 x the per-block fallback\'s, and applies exactly', async () => {
  const old = Buffer.concat([randomBytes(1 << 20, 6), Buffer.alloc(1 << 20)]);
  const neu = Buffer.concat([old.subarray(0, 100000), randomBytes(37, 7), old.subarray(100000, 700000), randomBytes(1000, 8), old.subarray(700000)]).subarray(0, old.length);
  const perBlock = encodeDelta(old, neu, { contentMatch: false });
  const { delta, rebuilt } = await roundTrip(dir, old, neu);
  console.log(`# shifted data: per block ${perBlock.delta.length} bytes, content matching ${delta.length}`);
  assert.ok(delta.length <= 0.1 * perBlock.delta.length, `${delta.length} vs ${perBlock.delta.length}`);
  assert.ok(rebuilt.equals(neu));
});

test.run();
