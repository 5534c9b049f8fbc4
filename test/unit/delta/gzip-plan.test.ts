// The encoder's side of streamed gzip sources: the pieces of a text diff are rewritten so that the
// decoder inflates the old text once (fleet/src/delta/gzip.ts), and the count of inflations it
// charges is never below what the decoder does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DELTA_GUNZIP_WINDOW_BYTES } from '../../../agent/src/formats/index.js';
import type { DiffPiece } from '../../../fleet/src/delta/bsdiff.js';
import { forwardPieces, gunzipInflations } from '../../../fleet/src/delta/gzip.js';

const W = DELTA_GUNZIP_WINDOW_BYTES;
const add = (newOffsetBytes: number, oldOffsetBytes: number, lengthBytes: number): DiffPiece => ({ kind: 'add', newOffsetBytes, oldOffsetBytes, lengthBytes });
const reads = (pieces: readonly DiffPiece[]): { offsetBytes: number; lengthBytes: number }[] =>
  pieces.flatMap((p) => p.kind === 'add' ? [{ offsetBytes: p.oldOffsetBytes, lengthBytes: p.lengthBytes }] : []);

test('inflations: one for forward reads and reads within the window; one more per read further back', () => {
  assert.is(gunzipInflations([]), 0);
  assert.is(gunzipInflations(reads([add(0, 0, 100), add(100, 5000, 100), add(200, 4000, 100)])), 1);
  assert.is(gunzipInflations(reads([add(0, 3 * W, 1000), add(1000, W, 1000)])), 2);
  assert.is(gunzipInflations(reads([add(0, 3 * W, 1000), add(1000, 2 * W + 2000, 1000)])), 1);
});

test('forwardPieces keeps the heaviest rising ADDs, turns the rest literal, and covers the same new bytes in order', () => {
  // A changelog: a new entry (with a short match at the end of the old text, a repeated signature line),
  // then the old text whole; a short match far back in the middle.
  const pieces: DiffPiece[] = [
    { kind: 'literal', newOffsetBytes: 0, lengthBytes: 500 },
    add(500, 3 * W + 100, 60),
    { kind: 'literal', newOffsetBytes: 560, lengthBytes: 40 },
    add(600, 0, 2 * W),
    add(600 + 2 * W, 10, 40),
    add(640 + 2 * W, 2 * W, W),
    add(640 + 3 * W, 3 * W, 8),
  ];
  const out = forwardPieces(pieces);
  assert.is(gunzipInflations(reads(out)), 1);
  let at = 0;
  for (const p of out) {
    assert.is(p.newOffsetBytes, at, 'contiguous');
    at += p.lengthBytes;
  }
  assert.is(at, 648 + 3 * W);
  assert.equal(out.filter((p) => p.kind === 'add').map((p) => p.kind === 'add' ? p.oldOffsetBytes : -1), [0, 2 * W]);
  assert.equal(out.map((p) => p.kind), ['literal', 'add', 'literal', 'add', 'literal'], 'neighbouring literals merged');
});

test.run();
