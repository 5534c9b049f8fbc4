import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  decodeSegmentPayload, encodeDeltaHeader, encodeSegmentPayload, parseDeltaHeader, readSegmentOps, SegmentWriter,
  VarintReader, VarintWriter, DEFLATE_ENGINE, type DeltaOp,
} from '../../../agent/src/formats/index.js';
import { GZIP_MAX_LEVEL, GZIP_MIN_LEVEL } from '../../../agent/src/delta/gzip/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

const h32 = (n: number): Uint8Array => new Uint8Array(32).fill(n);

function header(): Uint8Array {
  return encodeDeltaHeader({
    full: false, baseSizeBytes: 123, baseSha256: h32(1), targetSizeBytes: 300, targetSha256: h32(2),
    segments: [{ payloadSizeBytes: 10, outputSizeBytes: 100, sha256: h32(3) }, { payloadSizeBytes: 20, outputSizeBytes: 200, sha256: h32(4) }],
  });
}

test('varints round-trip unsigned values below 2^53 and signed ones below 2^52', () => {
  const signed = fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 });
  fc.assert(fc.property(fc.array(fc.tuple(signed, fc.maxSafeNat())), (values) => {
    const w = new VarintWriter();
    for (const [v, u] of values) { w.int(v); w.uint(u); }
    const r = new VarintReader(w.finish());
    for (const [v, u] of values) { assert.is(r.int(), v); assert.is(r.uint(), u); }
    assert.ok(r.done);
  }));
});

test('header round-trips', () => {
  const h = parseDeltaHeader(header());
  assert.is(h.baseSizeBytes, 123);
  assert.is(h.targetSizeBytes, 300);
  assert.equal(h.segments.map((s) => s.outputSizeBytes), [100, 200]);
  assert.equal([...h.segments[1]!.sha256], [...h32(4)]);
  assert.is(h.full, false);
});

test('every single-byte flip in a header is refused', () => {
  const bytes = header();
  for (let i = 0; i < bytes.length; i++) {
    const bad = Uint8Array.from(bytes);
    bad[i]! ^= 0x01;
    assert.throws(() => parseDeltaHeader(bad), (e: unknown) => e instanceof OtaError && /DELTA_(CORRUPT|VERSION)/.test(e.code), `flip at ${i}`);
  }
});

test('a truncated header is refused', () => {
  const bytes = header();
  assert.throws(() => parseDeltaHeader(bytes.subarray(0, bytes.length - 1)), /truncated/);
  assert.throws(() => parseDeltaHeader(bytes.subarray(0, 5)), /shorter/);
});

test('segment ops round-trip through the compressed payload', () => {
  const w = new SegmentWriter();
  w.zero(4096);
  w.copy(8192, 100);
  w.addTo(50, Uint8Array.of(1, 2, 3));
  w.literalBytesOp(Uint8Array.of(9, 9));
  w.source(1, [{ offsetBytes: 4096, lengthBytes: 10 }]);
  w.copy(2, 3);
  const ops: DeltaOp[] = [...readSegmentOps(decodeSegmentPayload(encodeSegmentPayload(w.finish())))];
  assert.equal(ops.map((o) => o.op), ['zero', 'copy', 'add', 'literal', 'source', 'copy']);
  assert.equal(ops[1], { op: 'copy', sourceOffsetBytes: 8192, lengthBytes: 100 });
  assert.equal(ops[5], { op: 'copy', sourceOffsetBytes: 2, lengthBytes: 3 });
  assert.is(w.outputSizeBytes, 4096 + 100 + 3 + 2 + 3);
});

test('an op reading past its data stream is refused', () => {
  const w = new SegmentWriter();
  w.literalBytesOp(Uint8Array.of(1, 2, 3));
  const s = w.finish();
  const bad = { ...s, literal: s.literal.subarray(0, 2) };
  assert.throws(() => [...readSegmentOps(bad)], /past the end/);
});

test('a DEFLATE op names gzip levels 1..9 (the port\'s whole range); other levels and engines are refused', () => {
  const ops = (engine: number, level: number): DeltaOp[] => {
    const w = new SegmentWriter();
    w.deflate({ engine, level }, 10, 5);
    return [...readSegmentOps(w.finish())];
  };
  assert.equal([GZIP_MIN_LEVEL, GZIP_MAX_LEVEL], [1, 9]);
  for (let level = 1; level <= 9; level++) {
    assert.equal(ops(DEFLATE_ENGINE.gzip, level), [{ op: 'deflate', params: { engine: DEFLATE_ENGINE.gzip, level }, rawSizeBytes: 10, deflatedSizeBytes: 5 }]);
  }
  for (const [engine, level] of [[DEFLATE_ENGINE.gzip, 0], [DEFLATE_ENGINE.gzip, 10], [2, 9], [0, 6]] as const) {
    assert.throws(() => ops(engine, level), /does not have/);
  }
});

test.run();
