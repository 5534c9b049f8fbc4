/**
 * Helpers for delta tests: write a pair to a temp dir, encode, apply through the
 * real file path, and a fake base reader that fails on demand.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { applyDeltaFile, type BaseReader } from '../../agent/src/delta/index.js';
import { encodeDeltaHeader, parseDeltaHeader, sha256, type DeltaHeader } from '../../agent/src/formats/index.js';
import { encodeDelta, type EncodeOptions } from '../../fleet/src/delta/index.js';

/** Encode old -> neu, apply it from files in `dir`; resolves to the delta and the rebuilt image. */
export async function roundTrip(dir: string, old: Uint8Array | undefined, neu: Uint8Array, options: EncodeOptions = {}): Promise<{ delta: Uint8Array; rebuilt: Buffer }> {
  const { delta } = encodeDelta(old, neu, options);
  const paths = { base: join(dir, 'old.img'), delta: join(dir, 'x.delta'), out: join(dir, 'new.img') };
  if (old !== undefined) writeFileSync(paths.base, old);
  writeFileSync(paths.delta, delta);
  // The applier never truncates its target (slots are fixed-size): start from no file, as for a new image.
  rmSync(paths.out, { force: true });
  await applyDeltaFile({ deltaPath: paths.delta, targetPath: paths.out, ...(old === undefined ? {} : { basePath: paths.base }) });
  return { delta, rebuilt: readFileSync(paths.out) };
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function randomBytes(lengthBytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(lengthBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < lengthBytes; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A BaseReader over bytes in memory that throws EIO on read number `failAt` (counting from 1). */
export function failingBase(bytes: Uint8Array, failAt: number): BaseReader {
  let reads = 0;
  return {
    sizeBytes: bytes.length,
    async read(into, offsetBytes) {
      reads++;
      if (reads >= failAt) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      const n = Math.max(0, Math.min(into.length, bytes.length - offsetBytes));
      into.set(bytes.subarray(offsetBytes, offsetBytes + n));
      return n;
    },
    async close() { /* nothing held */ },
  };
}

/** The parsed header of a one-segment delta from `base` whose segment is `payload`, writing `outputSizeBytes`. */
export function oneSegmentHeader(base: Uint8Array, payload: Uint8Array, outputSizeBytes: number, targetSha256 = new Uint8Array(32)): DeltaHeader {
  return parseDeltaHeader(encodeDeltaHeader({
    full: false, baseSizeBytes: base.length, baseSha256: createHash('sha256').update(base).digest(), targetSizeBytes: outputSizeBytes, targetSha256,
    segments: [{ payloadSizeBytes: payload.length, outputSizeBytes, sha256: sha256(payload) }],
  }));
}
