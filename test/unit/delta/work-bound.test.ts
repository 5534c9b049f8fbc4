// A segment's gzip work (gunzip sources, deflate rebuilds) is bounded: the decoder refuses a segment that
// asks for more before doing it (3,000 gunzip sources in one segment took 12 s; the 4 MiB op stream
// allowed about 30 minutes), and the encoder cuts segments so it never asks for more.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeltaApplier } from '../../../agent/src/delta/index.js';
import {
  DELTA_MAX_SEGMENT_GZIP_BYTES, DELTA_MAX_SEGMENT_GZIP_OPS, DEFLATE_ENGINE, decodeSegmentPayload, encodeSegmentPayload,
  parseDeltaHeader, readSegmentOps, SegmentWriter, SOURCE_KIND, type DeltaHeader,
} from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { ContainerBuilder } from '../../../fleet/src/delta/container.js';
import { failingBase, oneSegmentHeader, randomBytes } from '../../support/delta.js';
import { tempDir } from '../../support/tools.js';

const { dir, cleanup } = tempDir('ota-delta-work-');
test.after(cleanup);

/** One segment of `sources` gunzip sources of the member at `at` in `base`, each followed by a copy of `copyBytes`. */
function gunzipSegment(base: Uint8Array, at: number, packedBytes: number, sources: number, copyBytes: number): { header: DeltaHeader; payload: Uint8Array } {
  const w = new SegmentWriter();
  for (let i = 0; i < sources; i++) {
    w.source(SOURCE_KIND.gunzip, [{ offsetBytes: at, lengthBytes: packedBytes }]);
    w.copy(0, copyBytes);
  }
  const payload = encodeSegmentPayload(w.finish());
  return { header: oneSegmentHeader(base, payload, w.outputSizeBytes), payload };
}

async function applyOne(base: Uint8Array, d: { header: DeltaHeader; payload: Uint8Array }, name: string): Promise<unknown> {
  const applier = await DeltaApplier.open({ header: d.header, base: failingBase(base, Infinity), targetPath: join(dir, name) });
  try {
    await applier.applySegment(0, d.payload);
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await applier.close();
  }
}

test('the decoder refuses a segment with more gunzip sources than the bound, and one whose gzip bytes pass it', async () => {
  const small = gzipSync(Buffer.from('a man page '.repeat(20)));
  const base = Buffer.concat([randomBytes(512, 1), small]);
  const many = await applyOne(base, gunzipSegment(base, 512, small.length, DELTA_MAX_SEGMENT_GZIP_OPS + 1, 10), 'many.img');
  assert.ok(many instanceof OtaError && many.code === 'DELTA_TOO_COSTLY', String(many));
  assert.match(String(many), /passes the gzip work bound of a segment \(256 operations, 8388608 bytes\)/);
  assert.is(await applyOne(base, gunzipSegment(base, 512, small.length, DELTA_MAX_SEGMENT_GZIP_OPS, 10), 'fits.img'), undefined, 'the bound itself is allowed');

  // Inflates to 1.9 MiB from a few KiB: read whole, five of them pass 8 MiB (the decoder streams a
  // source and charges what it inflates, so each copy reads the whole text).
  const text = Buffer.alloc(1900 * 1024, 0x61);
  const big = gzipSync(text);
  const bigBase = Buffer.concat([randomBytes(512, 2), big]);
  const costly = await applyOne(bigBase, gunzipSegment(bigBase, 512, big.length, 5, text.length), 'costly.img');
  assert.ok(costly instanceof OtaError && costly.code === 'DELTA_TOO_COSTLY', String(costly));
  assert.is(await applyOne(bigBase, gunzipSegment(bigBase, 512, big.length, 4, text.length), 'four.img'), undefined);
});

test('a DEFLATE rebuild counts as gzip work: more rebuilds than the bound in one segment are refused', async () => {
  const base = randomBytes(4096, 3);
  const w = new SegmentWriter();
  for (let i = 0; i <= DELTA_MAX_SEGMENT_GZIP_OPS; i++) { w.deflate({ engine: DEFLATE_ENGINE.gzip, level: 1 }, 1, 3); w.literalBytesOp(Uint8Array.of(0x61)); }
  const payload = encodeSegmentPayload(w.finish());
  const err = await applyOne(base, { header: oneSegmentHeader(base, payload, w.outputSizeBytes), payload }, 'deflates.img');
  assert.ok(err instanceof OtaError && err.code === 'DELTA_TOO_COSTLY', String(err));
});

test('the encoder cuts segments so that none asks for more gzip work than the bound', () => {
  const b = new ContainerBuilder();
  const rebuilds = 600;
  let outputBytes = 0;
  const gunzipBytes = 3 * 1024 * 1024; // with 1 MiB of input, each rebuild is 4 MiB of work: two fit a segment
  for (let i = 0; i < rebuilds; i++) {
    const rawBytes = i % 2 === 0 ? 1024 * 1024 : 16;
    const work = i % 2 === 0 ? gunzipBytes : 16;
    b.deflate({ engine: DEFLATE_ENGINE.gzip, level: 6 }, rawBytes, 10, 4096, work, () => {
      b.setSource(SOURCE_KIND.gunzip, [{ offsetBytes: 4096 * i, lengthBytes: 100 }]);
      b.copy(0, rawBytes);
    });
    b.literal(Uint8Array.of(1, 2, 3)); // the gzip tail: a segment may be cut here, after the rebuild
    outputBytes += 10 + 3; // the rebuilt (deflated) bytes and the tail
  }
  const container = b.finish({ full: false, baseSizeBytes: 1 << 30, baseSha256: new Uint8Array(32), targetSizeBytes: outputBytes, targetSha256: new Uint8Array(32) });
  const header = parseDeltaHeader(container.subarray(0, container.length));
  let at = header.headerSizeBytes;
  let rebuildsSeen = 0;
  for (const s of header.segments) {
    const ops = [...readSegmentOps(decodeSegmentPayload(container.subarray(at, at + s.payloadSizeBytes)))];
    at += s.payloadSizeBytes;
    const gzipOps = ops.filter((o) => o.op === 'deflate' || (o.op === 'source' && o.kind === SOURCE_KIND.gunzip)).length;
    const bytes = ops.reduce((sum, o) => sum + (o.op === 'deflate' ? o.rawSizeBytes + (o.rawSizeBytes > 16 ? gunzipBytes : 16) : 0), 0);
    assert.ok(gzipOps <= DELTA_MAX_SEGMENT_GZIP_OPS, `${gzipOps} gzip operations in a segment`);
    assert.ok(bytes <= DELTA_MAX_SEGMENT_GZIP_BYTES, `${bytes} gzip bytes in a segment`);
    rebuildsSeen += ops.filter((o) => o.op === 'deflate').length;
  }
  assert.is(rebuildsSeen, rebuilds);
  assert.ok(header.segments.length >= rebuilds / 4, `${header.segments.length} segments`);
});

test.run();
