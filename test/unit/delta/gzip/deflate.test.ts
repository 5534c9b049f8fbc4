import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inflateRawSync } from 'node:zlib';
import { gzipDeflate } from '../../../../agent/src/delta/gzip/index.js';
import { randomBytes } from '../../../support/delta.js';
import { gnuGzipDeflate, textLike } from '../../../support/gnu-gzip.js';
import { missingTools, tempDir } from '../../../support/tools.js';
import { gate, missingReason } from '../../../support/skip.js';

const missing = missingTools('gzip port differential tests', 'gzip');
const differential = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-gzip-');
test.after(cleanup);

const KIB = 1024;
const ALL_LEVELS = [1, 2, 3, 4, 5, 6, 7, 8, 9];

const inputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', Uint8Array.of(0x41)],
  ['two bytes', Uint8Array.of(0x41, 0x41)],
  ['all zeros, 1 MiB (longest matches, window slides)', new Uint8Array(1024 * KIB)],
  ['random, 200 KiB (stored blocks)', randomBytes(200 * KIB, 3)],
  ['highly repetitive text', Buffer.from('abcabcabd'.repeat(30000))],
  ['text, 300 KB (early block ends by gzip estimate)', textLike(300000, 2)],
  ['mixed text, random and zeros', Buffer.concat([textLike(40000, 4), randomBytes(20000, 5), new Uint8Array(70000), textLike(90000, 6)])],
];
// Window and buffer edges: 32 KiB (WSIZE), 64 KiB (window), the slide point, LIT_BUFSIZE literals in one block.
for (const sizeBytes of [32 * KIB - 1, 32 * KIB, 32 * KIB + 1, 64 * KIB - 262, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 64 * KIB + 258, 96 * KIB + 7]) {
  inputs.push([`text, ${sizeBytes} bytes`, textLike(sizeBytes, sizeBytes)]);
}
for (const sizeBytes of [0x8000 - 2, 0x8000 - 1, 0x8000, 2 * 0x8000 - 2, 2 * 0x8000 - 1]) {
  inputs.push([`random, ${sizeBytes} bytes (LIT_BUFSIZE edge: literals only)`, randomBytes(sizeBytes, sizeBytes)]);
}
// Inputs found by searching for data that tells apart a port with one rule changed (each was missed by the rest):
// the zeroing of two bytes past the end of input after a slide (gzip >= 1.5),
// a stored block exactly 4 bytes smaller than the coded one, a 3-byte match exactly TOO_FAR + 1 back.
inputs.push(['text, 70055 bytes (stale window bytes past the end)', textLike(70055, 70055)]);
inputs.push(['random, 27 bytes (stored block at the size tie)', randomBytes(27, 27)]);
const tooFar = Buffer.concat([randomBytes(6000, 99), new Uint8Array(50000)]);
tooFar.copy(tooFar, 100 + 4097, 100, 103);
inputs.push(['a 3-byte match 4097 bytes back (TOO_FAR)', tooFar]);

for (const [name, input] of inputs) {
  differential(`gzipDeflate equals gzip -n -1..-9 byte for byte: ${name}`, () => {
    for (const level of ALL_LEVELS) {
      const ours = Buffer.from(gzipDeflate(input, level));
      const theirs = gnuGzipDeflate(input, level, dir);
      assert.ok(ours.equals(theirs), `level ${level}: ours ${ours.length} bytes, gzip ${theirs.length} bytes`);
    }
  });
}

test('gzipDeflate output inflates back to its input with zlib, at every level', () => {
  const input = Buffer.concat([textLike(50000, 9), randomBytes(5000, 10), new Uint8Array(3000)]);
  for (const level of ALL_LEVELS) assert.ok(inflateRawSync(gzipDeflate(input, level)).equals(input), `level ${level}`);
});

test('gzipDeflate refuses levels outside 1..9', () => {
  for (const level of [0, 10, 6.5, -1, Number.NaN]) assert.throws(() => gzipDeflate(Uint8Array.of(1), level), /gzip level/);
});

test.run();
