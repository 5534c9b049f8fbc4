import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { DeltaApplier } from '../../../agent/src/delta/index.js';
import { encodeDeltaHeader, encodeSegmentPayload, SegmentWriter, sha256, SOURCE_KIND, type DeltaHeader } from '../../../agent/src/formats/index.js';
import { parseDeltaHeader } from '../../../agent/src/formats/index.js';
import { tempDir } from '../../support/tools.js';
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

test.run();
