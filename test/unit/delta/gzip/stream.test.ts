// The device rebuilds a gzip member by streaming its text through the deflate port (agent/src/delta/sink.ts):
// pushed in pieces of any size, the output must be the very bytes the whole-input run writes (which
// compressor.test.ts and deflate.test.ts hold to GNU gzip's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { GzipCompressor } from '../../../../agent/src/delta/gzip/index.js';
import { randomBytes } from '../../../support/delta.js';
import { textLike } from '../../../support/gnu-gzip.js';

function streamed(gz: GzipCompressor, raw: Uint8Array, level: number, pieces: (at: number) => number): Buffer {
  const out: Buffer[] = [];
  gz.begin(level);
  for (let at = 0; at < raw.length;) {
    const n = Math.max(1, Math.min(raw.length - at, pieces(at)));
    out.push(Buffer.from(gz.push(raw.subarray(at, at + n))));
    at += n;
  }
  out.push(Buffer.from(gz.end()));
  return Buffer.concat(out);
}

const inputs: [string, Uint8Array][] = [
  ['text, 700 KB (the window slides many times)', textLike(700000, 7)],
  ['random, 150 KB (stored blocks)', randomBytes(150000, 8)],
  ['zeros, 300 KB', new Uint8Array(300000)],
  ['text, 70055 bytes (stale window bytes past the end)', textLike(70055, 70055)],
  ['one byte', Uint8Array.of(65)],
];

test('a stream pushed in pieces of 1 B to 200 KB deflates to the whole-input bytes', () => {
  const gz = new GzipCompressor();
  for (const [name, raw] of inputs) {
    // Levels 1-3 (deflate_fast) and 4-9 (lazy) differ by path and table row: every level on the small inputs.
    for (const level of raw.length > 200000 ? [1, 4, 9] : [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const whole = Buffer.from(gz.deflate(raw, level));
      for (const size of [1, 1000, 65535, 65536, 200001]) {
        if (size === 1 && raw.length > 100000) continue; // a byte at a time over 100 KB: slow; 1000 covers what it would
        assert.ok(streamed(gz, raw, level, () => size).equals(whole), `${name}, level ${level}, pieces of ${size}`);
      }
    }
  }
});

test('an empty stream deflates to the empty input\'s bytes', () => {
  const gz = new GzipCompressor();
  const whole = Buffer.from(gz.deflate(new Uint8Array(0), 6));
  gz.begin(6);
  assert.ok(Buffer.from(gz.end()).equals(whole));
});

test('random splits of random text-like inputs (property)', () => {
  const gz = new GzipCompressor();
  fc.assert(fc.property(fc.integer({ min: 0, max: 120000 }), fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 1, max: 90000 }), { minLength: 1, maxLength: 20 }), (size, level, cuts) => {
    const raw = textLike(size, size + level);
    const whole = Buffer.from(gz.deflate(raw, level));
    let k = 0;
    return streamed(gz, raw, level, () => cuts[k++ % cuts.length]!).equals(whole);
  }), { numRuns: 15, seed: 20 });
});

test('push or end without begin is refused', () => {
  const gz = new GzipCompressor();
  assert.throws(() => gz.push(Uint8Array.of(1)), /without begin/);
  assert.throws(() => gz.end(), /without begin/);
});

test.run();
