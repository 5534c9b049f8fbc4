// CRC-32 against the standard check value and a bit-by-bit reference, on both sides of the sizes
// where crc32 takes zlib's native CRC (stored gzip trailer) instead of its table loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32 } from '../../../agent/src/checksum/index.js';
import { mulberry32 } from '../../support/prng.js';

/** The CRC bit by bit, straight from the polynomial (no table). */
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function randomBytes(seed: number, length: number): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length }, () => Math.floor(rng() * 256));
}

test('the CRC-32 check value of "123456789" is 0xCBF43926; empty input gives 0', () => {
  assert.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
});

test('every size class (table loop, native, above the native bound) matches the reference', () => {
  for (const [seed, length] of [[1, 1], [2, 1023], [3, 1024], [4, 16 * 1024], [5, 256 * 1024], [6, 256 * 1024 + 1], [7, 300_000]] as const) {
    const bytes = randomBytes(seed, length);
    assert.is(crc32(bytes), reference(bytes), `seed ${seed}, ${length} bytes`);
  }
});

test('continuing from a previous CRC equals the CRC of the concatenation, across the native path', () => {
  const a = randomBytes(8, 4096);
  const b = randomBytes(9, 2048);
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  assert.is(crc32(b, crc32(a)), crc32(joined));
  assert.is(crc32(joined), reference(joined));
});

test('a subarray (offset into a larger buffer) is checked on its own bytes only', () => {
  const big = randomBytes(10, 8192);
  const part = big.subarray(1000, 5096);
  assert.is(crc32(part), reference(part));
});

test.run();
