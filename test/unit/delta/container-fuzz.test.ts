// Fuzzing the delta container reader and decoder: arbitrary bytes, arbitrary segment streams, and
// bit-flipped, cut or extended real containers are refused with a typed DELTA_* error, never a crash,
// a hang or an untyped error. Fixed seed in `npm test`; OTA_FUZZ_RUNS=N runs N cases per property.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDeltaFile, DeltaApplier } from '../../../agent/src/delta/index.js';
import {
  decodeSegmentPayload, deltaHeaderSizeBytes, encodeSegmentPayload, EXEC_ARCH, parseDeltaHeader, peekSegmentCount, readSegmentOps,
  SegmentWriter, SOURCE_KIND,
} from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { failingBase, oneSegmentHeader, randomBytes } from '../../support/delta.js';
import { tempDir } from '../../support/tools.js';

const { dir, cleanup } = tempDir('ota-delta-fuzz-');
test.after(cleanup);

const fromEnv = Number(process.env['OTA_FUZZ_RUNS']);
const RUNS = Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : undefined;
/** Fixed seed so `npm test` is reproducible; a failure prints its seed and path for replay. */
const params = (defaultRuns: number): fc.Parameters<unknown> => ({ seed: 0x6f7461, numRuns: RUNS ?? defaultRuns });

/** Rethrow anything that is not a typed delta refusal. */
function typedRefusal(err: unknown): void {
  if (err instanceof OtaError && /^DELTA_[A-Z_]+$/.test(err.code) && !err.message.includes('\n')) return;
  throw err;
}

const old = Buffer.concat([randomBytes(6000, 1), Buffer.alloc(3000), randomBytes(3000, 2)]);
const neu = Buffer.concat([old.subarray(1000, 7000), Buffer.from('a few new bytes'), randomBytes(2000, 3), old.subarray(0, 2000)]);
const { delta } = encodeDelta(old, neu, { segmentDecodedBytes: 4096 });
const basePath = join(dir, 'base.img');
writeFileSync(basePath, old);

test('fuzz: arbitrary bytes as a container header give a header or a typed refusal', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
    try {
      deltaHeaderSizeBytes(peekSegmentCount(bytes));
      parseDeltaHeader(bytes);
    } catch (err) { typedRefusal(err); }
  }), params(1000));
});

test('fuzz: arbitrary segment payloads and op streams give ops or a typed refusal', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (payload) => {
    try { [...readSegmentOps(decodeSegmentPayload(payload))]; } catch (err) { typedRefusal(err); }
  }), params(500));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 50 }), fc.uint8Array({ maxLength: 50 }), (ops, add, literal) => {
    try { [...readSegmentOps({ ops, add, literal })]; } catch (err) { typedRefusal(err); }
  }), params(1000));
});

test('fuzz: arbitrary op streams applied to a real base write the target or are refused, typed', async () => {
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 20000 }),
    async (ops, add, literal, outputSizeBytes) => {
      const payload = encodeSegmentPayload({ ops, add, literal });
      const header = oneSegmentHeader(old, payload, outputSizeBytes);
      const target = join(dir, `ops-${n++ % 4}.img`);
      rmSync(target, { force: true });
      const applier = await DeltaApplier.open({ header, base: failingBase(old, Infinity), targetPath: target });
      try {
        await applier.applySegment(0, payload);
      } catch (err) { typedRefusal(err); } finally { await applier.close(); }
    }), params(300));
});

test('fuzz: a real container with bits flipped, cut or extended is applied exactly or refused, typed', async () => {
  const out = join(dir, 'out.img');
  const mutated = fc.oneof(
    fc.array(fc.tuple(fc.nat(delta.length - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }).map((flips) => {
      const b = Buffer.from(delta);
      for (const [at, bit] of flips) b[at] = (b[at] ?? 0) ^ (1 << bit);
      return b;
    }),
    fc.nat(delta.length - 1).map((cut) => Buffer.from(delta.subarray(0, cut))),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => Buffer.concat([delta, tail])),
  );
  let applied = 0;
  await fc.assert(fc.asyncProperty(mutated, async (bytes) => {
    const deltaPath = join(dir, 'mutated.delta');
    writeFileSync(deltaPath, bytes);
    rmSync(out, { force: true });
    try {
      await applyDeltaFile({ deltaPath, basePath, targetPath: out });
      applied++; // a flip the format ignores (e.g. in a reserved byte) still rebuilds the verified target
    } catch (err) { typedRefusal(err); }
  }), params(300));
  assert.ok(applied < (RUNS ?? 300) / 2, `${applied} mutated containers applied`);
});

test('fuzz: an exec source (sections, address map) with bits flipped in its op stream is applied or refused, typed', async () => {
  const w = new SegmentWriter();
  w.source(SOURCE_KIND.exec, [{ offsetBytes: 0, lengthBytes: 6000 }, { offsetBytes: 9000, lengthBytes: 3000 }], {
    arch: EXEC_ARCH.arm64, sections: [{ fileOffsetBytes: 16, lengthBytes: 8000, address: 0x10010 }], map: { starts: [0x10000, 0x11000], shifts: [8, -4096] },
  });
  w.addTo(10, randomBytes(3000, 4));
  w.copy(7000, 2000);
  const streams = w.finish();
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(streams.ops.length - 1), fc.integer({ min: 0, max: 7 })), { maxLength: 3 }), async (flips) => {
    const ops = Buffer.from(streams.ops);
    for (const [at, bit] of flips) ops[at] = (ops[at] ?? 0) ^ (1 << bit);
    const payload = encodeSegmentPayload({ ...streams, ops });
    const target = join(dir, 'exec.img');
    rmSync(target, { force: true });
    try {
      const applier = await DeltaApplier.open({ header: oneSegmentHeader(old, payload, 5000), base: failingBase(old, Infinity), targetPath: target });
      try { await applier.applySegment(0, payload); } finally { await applier.close(); }
    } catch (err) { typedRefusal(err); }
  }), params(300));
});

test.run();
