/**
 * Progress figures for the agent's status and the CLI's progress bar: bytes
 * held, rate over a sliding window, and the time left at that rate.
 */
import type { Clock } from '../time/index.js';

/** One progress event. */
export interface DownloadProgress {
  /** Bytes verified and handed over, plus bytes held of the current segment. */
  readonly doneBytes: number;
  readonly totalSizeBytes: number;
  /** Bytes received from the network in this run, including any later thrown away. */
  readonly receivedBytes: number;
  /** Network rate over the last window; 0 before the first window has data. */
  readonly rateBytesPerSecond: number;
  /** Time left at that rate; undefined while the rate is 0. */
  readonly etaMs: number | undefined;
}

/** Sliding-window rate meter. */
export class RateMeter {
  private readonly samples: { atMs: number; sizeBytes: number }[] = [];
  private windowBytes = 0;

  constructor(private readonly clock: Clock, private readonly windowMs = 5000) {}

  /** Count bytes received now. */
  add(sizeBytes: number): void {
    this.samples.push({ atMs: this.clock.nowMs(), sizeBytes });
    this.windowBytes += sizeBytes;
  }

  /** Bytes per second over the window ending now. */
  rateBytesPerSecond(): number {
    const now = this.clock.nowMs();
    while (this.samples.length > 0 && (this.samples[0]?.atMs ?? now) < now - this.windowMs) {
      this.windowBytes -= this.samples.shift()?.sizeBytes ?? 0;
    }
    const first = this.samples[0];
    if (first === undefined) return 0;
    const spanMs = Math.max(now - first.atMs, 1000);
    return (this.windowBytes * 1000) / spanMs;
  }
}
