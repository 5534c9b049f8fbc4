/**
 * Helpers for downloader tests: plans cut from a buffer, a seeded random
 * source, a consumer that checks every byte it is handed, and (re-exported) the manual clock.
 */
import { createHash } from 'node:crypto';
import type { DownloadPlan } from '../../agent/src/download/index.js';
import type { Random } from '../../agent/src/time/index.js';
export { ManualClock } from './manual-clock.js';
import { mulberry32 } from './prng.js';

/** A plan for `body` served at `urls`, in segments of `segmentBytes` (the last may be shorter). */
export function planFor(body: Buffer, urls: string[], segmentBytes: number, spreadWindowMs = 0): DownloadPlan {
  const segments = [];
  for (let offsetBytes = 0; offsetBytes < body.length; offsetBytes += segmentBytes) {
    const bytes = body.subarray(offsetBytes, offsetBytes + segmentBytes);
    segments.push({ offsetBytes, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return { urls, totalSizeBytes: body.length, segments, spreadWindowMs };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1) (test/support/prng.ts). */
export function seededRandom(seed: number): Random {
  return mulberry32(seed);
}

/** Deterministic pseudo-random bytes (incompressible, like a delta). */
export function randomBytesSeeded(sizeBytes: number, seed: number): Buffer {
  const r = seededRandom(seed);
  const b = Buffer.alloc(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** A consumer that throws unless every segment is the expected bytes, handed in order; records what it got. */
export function checkingConsumer(expected: Buffer, plan: DownloadPlan): {
  onSegment: (index: number, bytes: Buffer) => Promise<void>;
  indexes: number[];
  unverified: string[];
} {
  const indexes: number[] = [];
  const unverified: string[] = [];
  const onSegment = async (index: number, bytes: Buffer): Promise<void> => {
    const seg = plan.segments[index];
    const want = seg === undefined ? undefined : expected.subarray(seg.offsetBytes, seg.offsetBytes + seg.sizeBytes);
    if (want === undefined || !want.equals(bytes)) unverified.push(`segment ${index}: ${bytes.length} bytes differ from the signed content`);
    indexes.push(index);
  };
  return { onSegment, indexes, unverified };
}

