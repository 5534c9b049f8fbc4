/**
 * A token bucket that caps the download rate, so an update never starves the
 * device's own traffic. Reading slower makes TCP slow the sender down.
 */
import type { Clock } from '../time/index.js';
import { pause } from './abort.js';

/** Bandwidth cap settings. */
export interface BandwidthCap {
  readonly bytesPerSecond: number;
  /** Bucket size: how far ahead of the rate a burst may go. */
  readonly burstBytes: number;
}

/** Token bucket on an injected clock. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly cap: BandwidthCap, private readonly clock: Clock) {
    this.tokens = cap.burstBytes;
    this.lastMs = clock.nowMs();
  }

  /** Take `sizeBytes` tokens, waiting for the bucket to refill when it runs into debt. */
  async take(sizeBytes: number, signal?: AbortSignal): Promise<void> {
    const now = this.clock.nowMs();
    this.tokens = Math.min(this.cap.burstBytes, this.tokens + ((now - this.lastMs) * this.cap.bytesPerSecond) / 1000);
    this.lastMs = now;
    this.tokens -= sizeBytes;
    if (this.tokens < 0) await pause(this.clock, (-this.tokens * 1000) / this.cap.bytesPerSecond, signal);
  }
}
