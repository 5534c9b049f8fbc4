/**
 * When the device tries a failed update again by itself (docs/agent-config.md, `machine.retry`):
 * only an update that failed before its trial was armed, for a cause that may go away on the
 * server's side (an artifact not served yet: 404; a 5xx or 429; the network), and only a bounded
 * number of times, each later than the one before. A signature, hash or format failure, a failed
 * health check or a reverted trial is never retried: the same bytes would fail the same way.
 * The retry offers the same notice again (re-verified as any notice: an expired one stops it);
 * a newer notice replaces it. Each failed try reaches rest and is reported like any other.
 */
import type { Random } from '../time/index.js';
import type { JournalRecord } from './journal.js';

/** The retry policy's settings. */
export interface RetryPolicy {
  /** Retries after the first failure (0: never retry). */
  readonly maxRetries: number;
  /** Ceiling of the first delay; each next ceiling doubles, up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Defaults: 8 retries over about 4 to 8 hours (ceilings 1, 2, 4, 8, 16, 32, 60, 60 min), time for a
 * vendor to notice a missing artifact and upload it, without a device polling a broken mirror forever.
 */
export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 8, firstDelayMs: 60_000, maxDelayMs: 3_600_000 };

/**
 * Error codes whose cause may have gone by the next try: the server's answer (404 and other HTTP
 * errors, 429/503, a server that ignored Range or changed the file) and the network (cut, stall,
 * trickle, every mirror failing). Nothing about the bytes themselves (DOWNLOAD_HASH_MISMATCH,
 * ARTIFACT_CORRUPT, a signature) is here.
 */
export const RETRIED_CODES: ReadonlySet<string> = new Set([
  'DOWNLOAD_HTTP', 'DOWNLOAD_BUSY', 'DOWNLOAD_CUT', 'DOWNLOAD_STALL', 'DOWNLOAD_TRICKLE', 'DOWNLOAD_FAILED',
  'DOWNLOAD_NO_RANGE', 'DOWNLOAD_CHANGED',
]);

/** True when the rest `record` reached is a failure the policy retries. */
export function retriable(record: JournalRecord): boolean {
  const last = record.last;
  return record.state === 'idle' && last?.outcome === 'failed' && last.errorCode !== undefined && RETRIED_CODES.has(last.errorCode);
}

/**
 * The delay before retry number `retry` (0-based), or undefined when the policy gives up. Half the
 * ceiling plus a random half of it: a fleet that failed together (one missing file) comes back spread
 * out, and never sooner than half the ceiling.
 */
export function retryDelayMs(retry: number, policy: RetryPolicy, random: Random): number | undefined {
  if (retry >= policy.maxRetries) return undefined;
  const ceiling = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(retry, 52));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}
