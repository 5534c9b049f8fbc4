import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDeltaFile, DeltaApplier, readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import {
  encodeDeltaHeader, encodeSegmentPayload, parseDeltaHeader, SegmentWriter, sha256,
} from '../../../agent/src/formats/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { tempDir } from '../../support/tools.js';
import { failingBase, randomBytes } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-bad-');
test.after(cleanup);

const old = Buffer.concat([randomBytes(12000, 1), Buffer.alloc(8192), randomBytes(9000, 2)]);
const neu = Buffer.concat([old.subarray(4096), Buffer.from('a few new bytes'), randomBytes(700, 3)]);
const { delta } = encodeDelta(old, neu);
const basePath = join(dir, 'old.img');
writeFileSync(basePath, old);

function code(err: unknown): string { return err instanceof OtaError ? err.code : `not an OtaError: ${String(err)}`; }

async function settle(p: Promise<unknown>): Promise<string> {
  try { await p; return 'ok'; } catch (err) { return code(err); }
}

async function applyBytes(bytes: Uint8Array, out: string, base = basePath): Promise<string> {
  const p = join(dir, 'x.delta');
  writeFileSync(p, bytes);
  try {
    await applyDeltaFile({ deltaPath: p, basePath: base, targetPath: out });
    return 'ok';
  } catch (err) {
    return code(err);
  }
}

test('the unmodified delta applies', async () => {
  const out = join(dir, 'good.img');
  assert.is(await applyBytes(delta, out), 'ok');
  assert.ok(Buffer.compare(readFileSync(out), neu) === 0);
});

test('every byte flip is refused before the corrupted segment is written', async () => {
  const header = parseDeltaHeader(delta);
  for (let i = 0; i < delta.length; i++) {
    const bad = Buffer.from(delta);
    bad[i]! ^= 0x40;
    const out = join(dir, `flip.img`);
    const result = await applyBytes(bad, out);
    assert.ok(/^DELTA_(CORRUPT|VERSION|SEGMENT_HASH)$/.test(result), `flip at ${i}: ${result}`);
    // A flip in the header is refused before the target is opened; in a segment before that segment writes.
    if (i >= header.headerSizeBytes) assert.is(existsSync(out) ? statSync(out).size : 0, 0, `flip at ${i} wrote bytes`);
  }
});

test('a truncated delta is refused before anything is written', async () => {
  const out = join(dir, 'trunc.img');
  for (const cut of [1, 100, delta.length - 1]) {
    assert.ok(/^DELTA_(TRUNCATED|CORRUPT)$/.test(await applyBytes(delta.subarray(0, cut), out)), `cut at ${cut}`);
    assert.not.ok(existsSync(out));
  }
});

test('trailing bytes after the last segment are refused', async () => {
  assert.is(await applyBytes(Buffer.concat([delta, Uint8Array.of(0)]), join(dir, 'trail.img')), 'DELTA_CORRUPT');
});

test('a wrong base is refused before the target is opened', async () => {
  const wrong = join(dir, 'wrong.img');
  const out = join(dir, 'wrongbase.img');
  writeFileSync(wrong, Buffer.concat([old.subarray(0, 100), Uint8Array.of(old[100]! ^ 1), old.subarray(101)]));
  assert.is(await applyBytes(delta, out, wrong), 'DELTA_WRONG_BASE');
  writeFileSync(wrong, old.subarray(1));
  assert.is(await applyBytes(delta, out, wrong), 'DELTA_WRONG_BASE');
  assert.not.ok(existsSync(out));
});

test('output larger than declared is refused at the first extra byte', async () => {
  const w = new SegmentWriter();
  w.literalBytesOp(randomBytes(5000, 9));
  w.zero(100);
  const payload = encodeSegmentPayload(w.finish());
  const bytes = Buffer.concat([encodeDeltaHeader({
    full: true, baseSizeBytes: 0, baseSha256: new Uint8Array(32), targetSizeBytes: 5000, targetSha256: new Uint8Array(32),
    segments: [{ payloadSizeBytes: payload.length, outputSizeBytes: 5000, sha256: sha256(payload) }],
  }), payload]);
  const out = join(dir, 'over.img');
  assert.is(await applyBytes(bytes, out), 'DELTA_OUTPUT_OVERFLOW');
  assert.ok(statSync(out).size <= 5000);
});

test('a read error on the base aborts with an OtaError and leaves the state at the last good segment', async () => {
  const p = join(dir, 'x.delta');
  writeFileSync(p, delta);
  const header = await readDeltaFileHeader(p);
  // The base hash takes the first reads; fail a read made while applying.
  const hashReads = Math.ceil(old.length / (1024 * 1024));
  const applier = await DeltaApplier.open({ header, base: failingBase(old, hashReads + 1), targetPath: join(dir, 'eio.img') });
  const payload = delta.subarray(header.headerSizeBytes, header.headerSizeBytes + header.segments[0]!.payloadSizeBytes);
  let caught: unknown;
  try { await applier.applySegment(0, payload); } catch (err) { caught = err; }
  await applier.close();
  assert.is(code(caught), 'EIO');
  assert.is(applier.state.nextSegment, 0);
});

test('segments out of order are refused', async () => {
  const p = join(dir, 'x.delta');
  writeFileSync(p, delta);
  const header = await readDeltaFileHeader(p);
  const applier = await DeltaApplier.open({ header, base: failingBase(old, Infinity), targetPath: join(dir, 'order.img') });
  assert.is(await settle(applier.applySegment(1, new Uint8Array(0))), 'DELTA_SEGMENT_ORDER');
  assert.is(await settle(applier.finish()), 'DELTA_TRUNCATED');
  await applier.close();
});

test.run();
