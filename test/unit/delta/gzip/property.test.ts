import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { gzipDeflate, gzipMember } from '../../../../agent/src/delta/gzip/index.js';
import { gnuGzipDeflate, gnuGzipMember } from '../../../support/gnu-gzip.js';
import { missingTools, tempDir } from '../../../support/tools.js';
import { gate, missingReason } from '../../../support/skip.js';

const missing = missingTools('gzip port property tests', 'gzip');
const differential = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-gzip-prop-');
test.after(cleanup);

// Small alphabets make matches likely; runs and repeats reach long matches and lazy decisions.
const chunk = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 1, maxLength: 32 }).map((b) => b.map((x) => 97 + (x % 4))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 600 })).map(([v, n]) => new Uint8Array(n).fill(v)),
);
const input = fc.array(chunk, { maxLength: 40 }).chain((parts) => fc.integer({ min: 0, max: 3 }).map((reps) => {
  const once = Buffer.concat(parts);
  return Buffer.concat(Array.from({ length: reps + 1 }, () => once));
}));

differential('property: gzipDeflate equals gzip -n at a random level for random small inputs', () => {
  fc.assert(fc.property(input, fc.integer({ min: 1, max: 9 }), (raw, level) => {
    const ours = Buffer.from(gzipDeflate(raw, level));
    assert.ok(ours.equals(gnuGzipDeflate(raw, level, dir)), `level ${level}, ${raw.length} bytes`);
  }), { numRuns: 150, seed: 20261125 });
});

differential('property: gzipMember with default header equals the whole gzip -n output', () => {
  fc.assert(fc.property(input, fc.integer({ min: 1, max: 9 }), (raw, level) => {
    assert.ok(Buffer.from(gzipMember(raw, { level })).equals(gnuGzipMember(raw, level, dir)), `level ${level}`);
  }), { numRuns: 60, seed: 7 });
});

test.run();
