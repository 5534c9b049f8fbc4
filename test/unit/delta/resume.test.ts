import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaApplier, openBaseFile, readDeltaFileHeader, readDeltaFileSegments, splitDeltaStream } from '../../../agent/src/delta/index.js';
import type { DeltaHeader } from '../../../agent/src/formats/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { tempDir } from '../../support/tools.js';
import { randomBytes } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-resume-');
test.after(cleanup);

const old = Buffer.concat([randomBytes(30000, 1), Buffer.alloc(20000), randomBytes(30000, 2)]);
const neu = Buffer.concat([randomBytes(9000, 3), old.subarray(0, 40000), randomBytes(9000, 4), old.subarray(50000), Buffer.alloc(9000)]);
const deltaPath = join(dir, 'x.delta');
const basePath = join(dir, 'old.img');
// Small segments: the shifted old data is matched by content, so only the 18 KB of new bytes fill segments.
writeFileSync(deltaPath, encodeDelta(old, neu, { segmentDecodedBytes: 3000 }).delta);
writeFileSync(basePath, old);

async function applyFrom(header: DeltaHeader, target: string, stopAfter: number, resume?: { nextSegment: number; outputOffsetBytes: number }) {
  const base = await openBaseFile(basePath, old.length);
  const applier = await DeltaApplier.open({ header, base, targetPath: target, ...(resume === undefined ? {} : { resume }) });
  let index = resume?.nextSegment ?? 0;
  let state = applier.state;
  for await (const payload of readDeltaFileSegments(deltaPath, header, index)) {
    if (index === stopAfter) break;
    state = await applier.applySegment(index++, payload);
  }
  return { applier, state, close: async () => { await applier.close(); await base.close(); } };
}

test('the delta has several segments', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  assert.ok(header.segments.length >= 5, `${header.segments.length} segments`);
});

test('an apply cut after any segment resumes from its state and verifies', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  for (let cut = 0; cut <= header.segments.length; cut++) {
    const target = join(dir, `cut${cut}.img`);
    const first = await applyFrom(header, target, cut);
    await first.close(); // the power cut: the state returned by the last applySegment is what was persisted
    const second = await applyFrom(header, target, Infinity, first.state);
    await second.applier.finish();
    await second.close();
    assert.ok(Buffer.compare(readFileSync(target), neu) === 0, `cut after ${cut}`);
  }
});

test('a resume point that does not match the segment table is refused', async () => {
  const header = await readDeltaFileHeader(deltaPath);
  const base = await openBaseFile(basePath, old.length);
  try {
    await DeltaApplier.open({ header, base, targetPath: join(dir, 'r.img'), resume: { nextSegment: 1, outputOffsetBytes: 1 } });
    assert.unreachable('resume accepted');
  } catch (err) {
    assert.match(String(err), /resume point/);
  } finally {
    await base.close();
  }
});

test('a delta fed as a stream of small chunks applies', async () => {
  const bytes = readFileSync(deltaPath);
  async function* chunks() { for (let at = 0; at < bytes.length; at += 333) yield bytes.subarray(at, at + 333); }
  const base = await openBaseFile(basePath, old.length);
  let applier: DeltaApplier | undefined;
  let index = 0;
  for await (const part of splitDeltaStream(chunks())) {
    if (applier === undefined) {
      if (part instanceof Uint8Array) throw new Error('segment before header');
      applier = await DeltaApplier.open({ header: part, base, targetPath: join(dir, 'stream.img') });
    } else if (part instanceof Uint8Array) await applier.applySegment(index++, part);
  }
  await applier?.finish();
  await applier?.close();
  await base.close();
  assert.ok(Buffer.compare(readFileSync(join(dir, 'stream.img')), neu) === 0);
});

test.run();
