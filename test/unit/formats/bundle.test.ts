// The .ota bundle's framing (agent/src/formats/bundle), byte by byte: the header round-trips, a wrong magic or
// an out-of-range notice length is refused as not a bundle, and the size check tells truncation from trailing bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUNDLE_PREFIX_BYTES, METADATA_LIMITS, bundleHeader, bundleNoticeLength, checkBundleSize, looksLikeBundle } from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

function refusedWith(code: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof OtaError)) throw err;
    assert.is(err.code, code);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('the header is the magic, the notice length big-endian, the notice', () => {
  const header = bundleHeader(Buffer.from('{"n":1}'));
  assert.is(header.subarray(0, 8).toString('latin1'), 'OTABNDL1');
  assert.equal([...header.subarray(8, 12)], [0, 0, 0, 7]);
  assert.is(header.subarray(BUNDLE_PREFIX_BYTES).toString(), '{"n":1}');
  assert.is(bundleNoticeLength(header, 'b'), 7);
  assert.ok(looksLikeBundle(header));
});

test('every single-bit flip of the magic is not a bundle', () => {
  const header = bundleHeader(Buffer.from('{}'));
  for (let bit = 0; bit < 64; bit++) {
    const bad = Buffer.from(header);
    bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
    assert.not.ok(looksLikeBundle(bad));
    refusedWith('BUNDLE_INVALID', () => bundleNoticeLength(bad, 'b'));
  }
});

test('a notice length of 0 or above the metadata cap is refused; so is a notice above the cap', () => {
  const header = bundleHeader(Buffer.from('{}'));
  for (const length of [0, METADATA_LIMITS.maxBytes + 1, 0xffffffff]) {
    const bad = Buffer.from(header);
    bad.writeUInt32BE(length, 8);
    refusedWith('BUNDLE_INVALID', () => bundleNoticeLength(bad, 'b'));
  }
  refusedWith('BUNDLE_INVALID', () => bundleNoticeLength(header.subarray(0, BUNDLE_PREFIX_BYTES - 1), 'b'));
  refusedWith('BUNDLE_INVALID', () => bundleHeader(Buffer.alloc(METADATA_LIMITS.maxBytes + 1)));
});

test('the size must be exactly the layout\'s: short is truncated, long is trailing data', () => {
  const layout = { artifacts: [], totalBytes: 1000 };
  checkBundleSize(layout, 1000, 'b');
  refusedWith('BUNDLE_TRUNCATED', () => checkBundleSize(layout, 999, 'b'));
  refusedWith('BUNDLE_TRAILING_DATA', () => checkBundleSize(layout, 1001, 'b'));
});

test.run();
