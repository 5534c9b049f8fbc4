import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  containerOffsetBefore, DeltaApplier, DeltaStream, openBaseFile, readDeltaFileHeader, segmentAtContainerOffset, type BaseReader, type OpenApplier,
} from '../../../agent/src/delta/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { tempDir } from '../../support/tools.js';
import { randomBytes } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-stream-');
test.after(cleanup);

const old = Buffer.concat([randomBytes(30000, 1), Buffer.alloc(20000), randomBytes(30000, 2)]);
const neu = Buffer.concat([randomBytes(9000, 3), old.subarray(0, 40000), randomBytes(9000, 4), old.subarray(50000), Buffer.alloc(9000)]);
const deltaPath = join(dir, 'x.delta');
const basePath = join(dir, 'old.img');
const delta = Buffer.from(encodeDelta(old, neu, { segmentDecodedBytes: 6000 }).delta);
writeFileSync(deltaPath, delta);
writeFileSync(basePath, old);

/** An OpenApplier on the base file; `bases` collects what to close. */
function opener(target: string, bases: BaseReader[]): OpenApplier {
  return async (header, resume) => {
    const base = await openBaseFile(basePath, old.length);
    bases.push(base);
    return DeltaApplier.open({ header, base, targetPath: target, ...(resume === undefined ? {} : { resume }) });
  };
}

/** Push `bytes` in pieces of `pieceBytes`; returns the offsets at which the stream said it was at a boundary. */
async function feed(stream: DeltaStream, bytes: Buffer, pieceBytes: number): Promise<number[]> {
  const boundaries: number[] = [];
  for (let at = 0; at < bytes.length; at += pieceBytes) {
    await stream.push(bytes.subarray(at, Math.min(bytes.length, at + pieceBytes)));
    if (stream.atBoundary) boundaries.push(stream.offsetBytes);
  }
  return boundaries;
}

test('container offsets and segment indices map both ways; inside a segment there is no resume point', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  for (let i = 0; i <= header.segments.length; i++) assert.is(segmentAtContainerOffset(header, containerOffsetBefore(header, i)), i);
  assert.is(containerOffsetBefore(header, header.segments.length), delta.length);
  assert.is(segmentAtContainerOffset(header, header.headerSizeBytes + 1), undefined);
  assert.is(segmentAtContainerOffset(header, 10), undefined);
});

test('pieces of any size (an old release cut every N bytes) apply; a boundary is reported only where every byte is applied', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  const starts = new Set(Array.from({ length: header.segments.length + 1 }, (_, i) => containerOffsetBefore(header, i)));
  for (const pieceBytes of [1000, 4096, 7777, delta.length]) {
    const bases: BaseReader[] = [];
    const target = join(dir, `piece${pieceBytes}.img`);
    const stream = DeltaStream.fresh(opener(target, bases));
    try {
      const boundaries = await feed(stream, delta, pieceBytes);
      for (const b of boundaries) assert.ok(starts.has(b), `${b} is a segment boundary`);
      await stream.finish();
    } finally {
      await stream.close();
      for (const b of bases) await b.close();
    }
    assert.ok(readFileSync(target).equals(neu), `pieces of ${pieceBytes}`);
  }
});

test('pieces on the container boundaries: a boundary after every piece; resumed at each one, with the header bytes again, the slot verifies', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  const headerBytes = delta.subarray(0, header.headerSizeBytes);
  for (let cut = 0; cut <= header.segments.length; cut++) {
    const bases: BaseReader[] = [];
    const target = join(dir, `resume${cut}.img`);
    const at = containerOffsetBefore(header, cut);
    const first = DeltaStream.fresh(opener(target, bases));
    await first.push(delta.subarray(0, header.headerSizeBytes));
    assert.ok(first.atBoundary, 'the header alone is a boundary');
    for (let i = 0; i < cut; i++) {
      await first.push(delta.subarray(containerOffsetBefore(header, i), containerOffsetBefore(header, i + 1)));
      assert.ok(first.atBoundary);
    }
    await first.close(); // the power cut
    const second = await DeltaStream.resume(opener(target, bases), headerBytes, at);
    try {
      await feed(second, delta.subarray(at), 5000);
      await second.finish();
    } finally {
      await second.close();
      for (const b of bases) await b.close();
    }
    assert.ok(readFileSync(target).equals(neu), `resumed at segment ${cut}`);
  }
});

test('a stream that ends inside a segment, or gets bytes past its end, is refused', async () => {
  const bases: BaseReader[] = [];
  const short = DeltaStream.fresh(opener(join(dir, 'short.img'), bases));
  const long = DeltaStream.fresh(opener(join(dir, 'long.img'), bases));
  try {
    await short.push(delta.subarray(0, delta.length - 1));
    await short.finish().then(() => assert.unreachable('finished'), (err: unknown) => assert.match(String(err), /DELTA_TRUNCATED|ended after/));
    await long.push(delta).then(async () => long.push(Buffer.from([0])))
      .then(() => assert.unreachable('accepted'), (err: unknown) => assert.match(String(err), /after its last segment/));
  } finally {
    await short.close();
    await long.close();
    for (const b of bases) await b.close();
  }
});

test('a resume point inside a segment is refused before anything is opened', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  const bases: BaseReader[] = [];
  await DeltaStream.resume(opener(join(dir, 'bad.img'), bases), delta.subarray(0, header.headerSizeBytes), header.headerSizeBytes + 3)
    .then(() => assert.unreachable('resumed'), (err: unknown) => assert.match(String(err), /not a delta segment boundary/));
  assert.is(bases.length, 0);
});

test.run();
