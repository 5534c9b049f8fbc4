/**
 * `Retry-After` parsing for 429/503: how long a mirror asks the downloader to wait
 * (on top of the backoff, agent/src/time).
 */

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
