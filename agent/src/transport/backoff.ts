/**
 * Reconnect delays: full-jitter exponential backoff (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): delay = random() * min(cap, base * 2^attempt).
 * A fleet of devices that lost the broker together comes back spread out, not in
 * one thundering herd. Random and clock are injected.
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** Ceiling of the first delay. */
  readonly baseMs: number;
  /** Largest delay ceiling. */
  readonly capMs: number;
  /** A connection that stayed up this long resets the attempt count. */
  readonly stableAfterMs: number;
}

/** Defaults for a device: first retry within 1 s, never more than 5 min apart. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 300_000, stableAfterMs: 60_000 };

/** The delay before retry number `attempt` (0-based); `random` returns [0, 1). */
export function fullJitterDelayMs(attempt: number, options: Pick<BackoffOptions, 'baseMs' | 'capMs'>, random: () => number): number {
  // 2^attempt overflows to Infinity eventually; min() with the cap keeps it finite.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 1024));
  return Math.floor(random() * ceiling);
}

/** Counts failed attempts; resets only after a connection that lasted `stableAfterMs`. */
export class Backoff {
  private attempt = 0;
  private upSinceMs: number | undefined;

  constructor(private readonly options: BackoffOptions, private readonly random: () => number,
    private readonly nowMs: () => number) {}

  /** The number of the next retry (0-based). */
  get attempts(): number { return this.attempt; }

  /** Forget past failures (the retried work succeeded). */
  reset(): void { this.attempt = 0; this.upSinceMs = undefined; }

  /** A connection was established. */
  connected(): void { this.upSinceMs = this.nowMs(); }

  /** The connection failed or dropped: the delay before the next try. */
  nextDelayMs(): number {
    if (this.upSinceMs !== undefined && this.nowMs() - this.upSinceMs >= this.options.stableAfterMs) this.attempt = 0;
    this.upSinceMs = undefined;
    return fullJitterDelayMs(this.attempt++, this.options, this.random);
  }
}
