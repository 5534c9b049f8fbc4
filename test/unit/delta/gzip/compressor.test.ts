import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { detectGzip, GzipCompressor } from '../../../../agent/src/delta/gzip/index.js';
import { randomBytes } from '../../../support/delta.js';
import { gnuGzipDeflate, gnuGzipMember, textLike } from '../../../support/gnu-gzip.js';
import { missingTools, tempDir } from '../../../support/tools.js';
import { gate, missingReason } from '../../../support/skip.js';

const missing = missingTools('reusable gzip compressor tests against GNU gzip', 'gzip');
const differential = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-gzip-reuse-');
test.after(cleanup);

// One compressor through inputs that leave different state behind: a long stream (window slid,
// chains full, stale bytes past the end), then short ones, stored blocks, empty, every level.
const sequence: [string, Uint8Array, number][] = [
  ['text, 300 KB', textLike(300000, 2), 9],
  ['text, 5 KB after a long stream', textLike(5000, 1), 9],
  ['one byte', Uint8Array.of(65), 6],
  ['random, 100 KB (stored blocks)', randomBytes(100000, 3), 4],
  ['empty', new Uint8Array(0), 9],
  ['zeros, 200 KB', new Uint8Array(200000), 1],
  ['text, 70055 bytes (stale window bytes past the end)', textLike(70055, 70055), 3],
  ['mixed text, random and zeros', Buffer.concat([textLike(40000, 4), randomBytes(20000, 5), new Uint8Array(70000), textLike(90000, 6)]), 6],
  ['text, 5 KB again', textLike(5000, 1), 2],
];

differential('one GzipCompressor reused across inputs and levels equals a fresh gzip -n for each', () => {
  const gz = new GzipCompressor();
  for (const [name, input, level] of sequence) {
    const ours = Buffer.from(gz.deflate(input, level));
    const theirs = gnuGzipDeflate(input, level, dir);
    assert.ok(ours.equals(theirs), `${name}, level ${level}: ours ${ours.length} bytes, gzip ${theirs.length} bytes`);
  }
});

differential('property: a reused GzipCompressor equals gzip -n on text of random size at a random level', () => {
  const gz = new GzipCompressor();
  fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 70000 }), fc.nat(), (level, size, seed) => {
    const input = textLike(size, seed + 1);
    assert.ok(Buffer.from(gz.deflate(input, level)).equals(gnuGzipDeflate(input, level, dir)), `level ${level}, ${size} bytes`);
  }), { numRuns: 25, seed: 4 });
});

differential('GzipCompressor.member equals the whole gzip -n output, reused between members', () => {
  const gz = new GzipCompressor();
  for (const [name, input, level] of sequence) {
    assert.ok(Buffer.from(gz.member(input, { level })).equals(gnuGzipMember(input, level, dir)), `${name}, level ${level}`);
  }
});

differential('detectGzip with a shared compressor finds the level gzip used, member after member', () => {
  const gz = new GzipCompressor();
  for (const level of [9, 1, 6, 3]) {
    const found = detectGzip(gnuGzipMember(textLike(30000, level), level, dir), { compressor: gz, levels: [level, 9, 6, 1] });
    assert.is(found?.level, level);
  }
});

test('a refused level leaves the compressor usable: the same input gives the same bytes after the error', () => {
  const gz = new GzipCompressor();
  const input = textLike(20000, 8);
  const kept = gz.deflate(input, 9).slice();
  for (const level of [0, 10, 6.5, Number.NaN]) assert.throws(() => gz.deflate(input, level), /gzip level/);
  assert.throws(() => gz.member(input, { level: 0 }), /gzip level/);
  assert.ok(Buffer.from(gz.deflate(input, 9)).equals(Buffer.from(kept)));
});

test.run();
