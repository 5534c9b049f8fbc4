import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as fc from 'fast-check';
import { gzipDeflateRaw } from '../../../agent/src/formats/index.js';
import { missingTools } from '../../support/tools.js';
import { randomBytes } from '../../support/delta.js';

const missing = missingTools('gzip deflate comparison', 'gzip');

/** The raw deflate stream GNU gzip writes (between the 10-byte header and the 8-byte trailer of `gzip -n`). */
function gnuGzip(input: Uint8Array, level: number): Buffer {
  const r = spawnSync('gzip', [`-${level}`, '-n', '-c'], { input, maxBuffer: 64 * 1024 * 1024 });
  assert.is(r.status, 0);
  return r.stdout.subarray(10, r.stdout.length - 8);
}

/** Text-like input: words from a small vocabulary, so matches of every length and distance occur. */
function textLike(lengthBytes: number, seed: number): Buffer {
  const words = ['the', 'openssl', 'library', ' ', '\n', 'security', 'fix', 'CVE-2024-', '.TH', 'changelog', '-- ', 'Debian'];
  const r = randomBytes(lengthBytes, seed);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < lengthBytes; i++) { const w = words[r[i % r.length]! % words.length]!; parts.push(w); size += w.length; }
  return Buffer.from(parts.join('').slice(0, lengthBytes));
}

const inputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', Uint8Array.of(65)],
  ['text, 5 KB', textLike(5000, 1)],
  ['text, 300 KB (window slides, early block flushes)', textLike(300000, 2)],
  ['random, 100 KB (stored blocks)', randomBytes(100000, 3)],
  ['zeros, 200 KB (longest matches)', new Uint8Array(200000)],
  ['mixed', Buffer.concat([textLike(40000, 4), randomBytes(20000, 5), new Uint8Array(70000), textLike(90000, 6)])],
];

for (const [name, input] of inputs) {
  (missing.length > 0 ? test.skip : test)(`gzip port is bit-exact with GNU gzip -9 and -6: ${name}`, () => {
    for (const level of [9, 6]) assert.ok(Buffer.compare(Buffer.from(gzipDeflateRaw(input, level)), gnuGzip(input, level)) === 0, `level ${level}`);
  });
}

(missing.length > 0 ? test.skip : test)('gzip port is bit-exact at levels 4 to 9 on random text (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 4, max: 9 }), fc.integer({ min: 0, max: 70000 }), fc.nat(), (level, size, seed) => {
    const input = textLike(size, seed + 1);
    assert.ok(Buffer.compare(Buffer.from(gzipDeflateRaw(input, level)), gnuGzip(input, level)) === 0);
  }), { numRuns: 25 });
});

test('levels outside 4..9 are refused', () => {
  assert.throws(() => gzipDeflateRaw(new Uint8Array(1), 3), /level 3/);
});

test.run();
