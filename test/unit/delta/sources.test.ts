import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { DeltaApplier } from '../../../agent/src/delta/index.js';
import { encodeDeltaHeader, encodeSegmentPayload, SegmentWriter, sha256, SOURCE_KIND, type DeltaHeader } from '../../../agent/src/formats/index.js';
import { parseDeltaHeader } from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { DELTA_GUNZIP_WINDOW_BYTES } from '../../../agent/src/formats/index.js';
import { tempDir } from '../../support/tools.js';
import { textLike } from '../../support/gnu-gzip.js';
import { failingBase, randomBytes } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-src-');
test.after(cleanup);

const digest = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest();

/** A one-segment delta from `ops` rebuilding `target` from `base`. */
function deltaOf(base: Uint8Array, target: Uint8Array, ops: (w: SegmentWriter) => void): { header: DeltaHeader; payload: Uint8Array } {
  const w = new SegmentWriter();
  ops(w);
  const payload = encodeSegmentPayload(w.finish());
  const header = parseDeltaHeader(encodeDeltaHeader({
    full: false, baseSizeBytes: base.length, baseSha256: digest(base), targetSizeBytes: target.length, targetSha256: digest(target),
    segments: [{ payloadSizeBytes: payload.length, outputSizeBytes: target.length, sha256: sha256(payload) }],
  }));
  return { header, payload };
}

async function apply(base: Uint8Array, d: { header: DeltaHeader; payload: Uint8Array }, name: string): Promise<Buffer> {
  const applier = await DeltaApplier.open({ header: d.header, base: failingBase(base, Infinity), targetPath: join(dir, name) });
  try {
    await applier.applySegment(0, d.payload);
    await applier.finish();
  } finally {
    await applier.close();
  }
  return readFileSync(join(dir, name));
}

test('a gzip source made of two members reads as their texts one after the other (not bounded by the last member\'s size)', async () => {
  const a = Buffer.from('first member '.repeat(3000));
  const b = Buffer.from('second, smaller');
  const packed = Buffer.concat([gzipSync(a), gzipSync(b)]);
  const base = Buffer.concat([randomBytes(100, 1), packed, randomBytes(50, 2)]);
  const text = Buffer.concat([a, b]);
  const d = deltaOf(base, text, (w) => {
    w.source(SOURCE_KIND.gunzip, [{ offsetBytes: 100, lengthBytes: packed.length }]);
    w.copy(0, text.length);
  });
  assert.ok(Buffer.compare(await apply(base, d, 'gz.img'), text) === 0);
});

test('an extent source reads across its extents in order', async () => {
  const base = randomBytes(10000, 3);
  const target = Buffer.concat([base.subarray(5000, 6000), base.subarray(100, 300)]);
  const d = deltaOf(base, target, (w) => {
    w.source(SOURCE_KIND.extents, [{ offsetBytes: 5000, lengthBytes: 1000 }, { offsetBytes: 100, lengthBytes: 200 }]);
    w.copy(0, 1200);
  });
  assert.ok(Buffer.compare(await apply(base, d, 'ext.img'), target) === 0);
});

test('an op reading past its source is refused as corrupt', async () => {
  const base = randomBytes(1000, 4);
  const target = randomBytes(600, 5);
  const d = deltaOf(base, target, (w) => { w.copy(500, 600); });
  try {
    await apply(base, d, 'past.img');
    assert.unreachable('applied');
  } catch (err) {
    assert.match(String(err), /reads 600 bytes at offset 500 of a 1000-byte source/);
  }
});

// A 3 MiB text (past the 2 MiB that older agents held whole) in a member of the base.
const bigText = textLike(3 * 1024 * 1024, 33);
const bigPacked = gzipSync(bigText);
const bigBase = Buffer.concat([randomBytes(4096, 6), bigPacked, randomBytes(4096, 7)]);
const bigSource = (w: SegmentWriter): void => { w.source(SOURCE_KIND.gunzip, [{ offsetBytes: 4096, lengthBytes: bigPacked.length }]); };

async function refusal(base: Uint8Array, d: { header: DeltaHeader; payload: Uint8Array }, name: string): Promise<OtaError> {
  try {
    await apply(base, d, name);
  } catch (err) {
    if (err instanceof OtaError) return err;
    throw err;
  }
  throw new Error('applied');
}

test('a large gzip source streams: reads forwards, then further back than its window (inflated again from the top)', async () => {
  const late = 2_900_000;
  const early = late - DELTA_GUNZIP_WINDOW_BYTES - 200_000;
  const target = Buffer.concat([bigText.subarray(100, 400_100), bigText.subarray(late, late + 100_000), bigText.subarray(early, early + 300_000)]);
  const d = deltaOf(bigBase, target, (w) => {
    bigSource(w);
    w.copy(100, 400_000);
    w.copy(late, 100_000);
    w.copy(early, 300_000);
  });
  assert.ok(Buffer.compare(await apply(bigBase, d, 'big-gz.img'), target) === 0);
});

test('a damaged gzip source and a read past its text are refused as corrupt', async () => {
  const damaged = Buffer.from(bigBase);
  damaged.writeUInt8(damaged.readUInt8(4096 + 30) ^ 0x40, 4096 + 30); // the first block's code lengths
  const d = deltaOf(damaged, bigText, (w) => { bigSource(w); w.copy(0, bigText.length); });
  const bad = await refusal(damaged, d, 'damaged-gz.img');
  assert.is(bad.code, 'DELTA_CORRUPT', bad.message);
  const past = deltaOf(bigBase, Buffer.alloc(1000), (w) => { bigSource(w); w.copy(bigText.length - 500, 1000); });
  const err = await refusal(bigBase, past, 'past-gz.img');
  assert.is(err.code, 'DELTA_CORRUPT');
  assert.match(err.message, /reads past the end of a gzip text of 3145728 bytes/);
});

test.run();
