/**
 * Retry pacing: full-jitter exponential backoff (AWS architecture blog,
 * "Exponential Backoff And Jitter"), reset after a stable period, and
 * `Retry-After` parsing for 429/503.
 */
import type { Random } from './clock.js';

/** Backoff settings. */
export interface BackoffOptions {
  /** Ceiling of the first retry's random delay. */
  readonly baseMs: number;
  /** Largest ceiling. */
  readonly capMs: number;
}

/** Full-jitter backoff: the n-th delay is uniform in [0, min(cap, base * 2^n)). */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions, private readonly random: Random) {}

  /** The current ceiling (what the next delay is drawn under). */
  ceilingMs(): number {
    return Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(this.attempt, 52));
  }

  /** The next delay, and count the attempt. */
  nextDelayMs(): number {
    const delayMs = Math.floor(this.random() * this.ceilingMs());
    this.attempt += 1;
    return delayMs;
  }

  /** Forget past failures (after a stable period). */
  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Parse a Retry-After header (delta-seconds or an HTTP date) into a delay in ms,
 * relative to `nowEpochMs`; undefined when absent or unreadable.
 */
export function parseRetryAfterMs(header: string | null, nowEpochMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowEpochMs);
}
