/**
 * Helpers for downloader tests: plans cut from a buffer, a seeded random
 * source, a consumer that checks every byte it is handed, and a manual clock.
 */
import { createHash } from 'node:crypto';
import type { Clock, DownloadPlan, Random } from '../../agent/src/download/index.js';
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

/** A clock that moves only when told; timers fire in time order during `advance`. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { atMs: number; fn: () => void }>();

  now(): number { return this.t; }

  setTimer(delayMs: number, fn: () => void): () => void {
    const id = this.seq++;
    this.timers.set(id, { atMs: this.t + Math.max(0, delayMs), fn });
    return () => { this.timers.delete(id); };
  }

  /** Timers still pending, by due time. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.atMs).sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: [number, { atMs: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].atMs <= target && (next === undefined || e[1].atMs < next[1].atMs)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].atMs;
      next[1].fn();
    }
    this.t = target;
  }
}
