/**
 * Retry pacing for every retry loop (broker reconnects, resyncs, downloads): full-jitter
 * exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * delay = random() * min(cap, base * 2^attempt). A fleet of devices that lost the broker or
 * the mirror together comes back spread out, not in one thundering herd. Random and clock are injected.
 */
import type { Clock, Random } from './clock.js';

/** Backoff settings. */
export interface BackoffOptions {
  /** Ceiling of the first delay. */
  readonly baseMs: number;
  /** Largest delay ceiling. */
  readonly capMs: number;
  /** A connection that stayed up this long resets the attempt count (see `connected`). */
  readonly stableAfterMs?: number;
}

/** Defaults for a device's broker connection: first retry within 1 s, never more than 5 min apart. */
export const DEFAULT_BACKOFF = { baseMs: 1000, capMs: 300_000, stableAfterMs: 60_000 } as const satisfies BackoffOptions;

/** The delay ceiling before retry number `attempt` (0-based). */
function ceilingMs(attempt: number, options: BackoffOptions): number {
  // 2^52 bounds the ceiling before min() (and keeps a base of 0 at 0, never 0 * Infinity).
  return Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 52));
}

/** The delay before retry number `attempt` (0-based); `random` returns [0, 1). */
export function fullJitterDelayMs(attempt: number, options: BackoffOptions, random: Random): number {
  return Math.floor(random() * ceilingMs(attempt, options));
}

/** Counts failed attempts; `reset` forgets them, and so does a connection that lasted `stableAfterMs`. */
export class Backoff {
  private attempt = 0;
  private upSinceMs: number | undefined;

  /** `clock` is read only by `connected` and the delay after it. */
  constructor(private readonly options: BackoffOptions, private readonly random: Random,
    private readonly clock?: Pick<Clock, 'nowMs'>) {}

  /** The number of the next retry (0-based). */
  get attempts(): number { return this.attempt; }

  /** The current ceiling (what the next delay is drawn under). */
  ceilingMs(): number { return ceilingMs(this.attempt, this.options); }

  /** Forget past failures (the retried work succeeded). */
  reset(): void { this.attempt = 0; this.upSinceMs = undefined; }

  /** A connection was established: if it lasts `stableAfterMs`, the next failure starts over. */
  connected(): void { this.upSinceMs = this.clock?.nowMs(); }

  /** The work failed (or the connection dropped): the delay before the next try, counting the attempt. */
  nextDelayMs(): number {
    const stableMs = this.options.stableAfterMs;
    if (this.upSinceMs !== undefined && stableMs !== undefined && this.clock !== undefined
      && this.clock.nowMs() - this.upSinceMs >= stableMs) this.attempt = 0;
    this.upSinceMs = undefined;
    return fullJitterDelayMs(this.attempt++, this.options, this.random);
  }
}
