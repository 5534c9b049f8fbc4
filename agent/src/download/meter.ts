/**
 * Watches a response body for what undici's defaults miss: a stall (no byte for
 * `stallTimeoutMs`) and a trickle (fewer than `minBytesPerSecond` over a window,
 * Uptane's slow-retrieval attack). Only time spent waiting for the network counts:
 * time the caller spends in the consumer or the bandwidth cap is not charged.
 */
import type { Clock } from '../time/index.js';
import { DownloadError } from './errors.js';

/** Stall and trickle limits. */
export interface SpeedLimits {
  /** Longest wait for the next byte (and for response headers). */
  readonly stallTimeoutMs: number;
  /** Throughput floor, measured over consecutive windows of `windowMs` of waiting time. */
  readonly minBytesPerSecond: number;
  readonly windowMs: number;
}

/** Races reads against the stall and trickle limits. */
export class SpeedMeter {
  private activeMs = 0;
  private lastByteAtMs = 0;
  private windowStartMs = 0;
  private windowBytes = 0;

  constructor(private readonly limits: SpeedLimits, private readonly clock: Clock, private readonly label: string) {}

  /** Await `read`, rejecting with DOWNLOAD_STALL or DOWNLOAD_TRICKLE (and calling `onTimeout`) when a limit is hit first. */
  wait<T>(read: Promise<T>, onTimeout: () => void): Promise<T> {
    const startedMs = this.clock.nowMs();
    return new Promise<T>((resolve, reject) => {
      let cancel = (): void => undefined;
      const arm = (): void => {
        const active = this.activeMs + this.clock.nowMs() - startedMs;
        const failure = this.check(active);
        if (failure !== undefined) { onTimeout(); reject(failure); return; }
        const stallLeft = this.limits.stallTimeoutMs - (active - this.lastByteAtMs);
        const windowLeft = this.limits.windowMs - (active - this.windowStartMs);
        cancel = this.clock.schedule(arm, Math.max(1, Math.min(stallLeft, windowLeft)));
      };
      arm();
      read.then(
        (v) => { cancel(); this.activeMs += this.clock.nowMs() - startedMs; resolve(v); },
        (e: unknown) => { cancel(); reject(e); },
      );
    });
  }

  /** Count bytes just received (call after `wait` resolves with them). */
  received(sizeBytes: number): void {
    this.windowBytes += sizeBytes;
    this.lastByteAtMs = this.activeMs;
  }

  private check(activeMs: number): DownloadError | undefined {
    if (activeMs - this.lastByteAtMs >= this.limits.stallTimeoutMs) {
      return new DownloadError('DOWNLOAD_STALL', `${this.label}: no data for ${this.limits.stallTimeoutMs} ms; retrying`, 'retry');
    }
    if (activeMs - this.windowStartMs < this.limits.windowMs) return undefined;
    const floorBytes = (this.limits.minBytesPerSecond * (activeMs - this.windowStartMs)) / 1000;
    if (this.windowBytes < floorBytes) {
      return new DownloadError('DOWNLOAD_TRICKLE',
        `${this.label}: ${this.windowBytes} bytes in ${Math.round(activeMs - this.windowStartMs)} ms, below the floor of ${this.limits.minBytesPerSecond} B/s (slow retrieval); retrying`, 'retry');
    }
    this.windowStartMs = activeMs;
    this.windowBytes = 0;
    return undefined;
  }
}
