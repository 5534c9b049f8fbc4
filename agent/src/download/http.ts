/**
 * One ranged GET with node-fetch, and the checks on its response headers:
 * status, Content-Range, Content-Length, Content-Encoding, validators.
 */
import type { Response } from 'node-fetch';
import { parseRetryAfterMs } from './retry-after.js';
import { DownloadError } from './errors.js';
import type { SpeedMeter } from './meter.js';

/** What to ask a mirror for: bytes [startBytes, endBytes) of a file of `totalSizeBytes`. */
export interface RangeRequest {
  readonly url: string;
  readonly startBytes: number;
  readonly endBytes: number;
  readonly totalSizeBytes: number;
  /** Strong validator the bytes already held came from; sent as If-Range. */
  readonly ifRange: string | undefined;
}

/** A response whose headers passed the checks. */
export interface RangeResponse {
  /** 206: the range asked for; 200: the whole file (the representation changed, or the server ignores Range). */
  readonly status: 200 | 206;
  /** Strong ETag, else Last-Modified, else undefined (weak ETags are never used). */
  readonly validator: string | undefined;
  readonly body: NodeJS.ReadableStream;
}

/**
 * The validator to resume with: a strong ETag, else Last-Modified when it is strong (RFC 9110 8.8.2.2: at least one
 * second older than the response's Date); weak ETags do not promise byte equality and are never used.
 */
export function strongValidator(etag: string | null, lastModified: string | null, date: string | null): string | undefined {
  if (etag !== null && !etag.startsWith('W/')) return etag;
  if (lastModified === null || date === null) return undefined;
  const modifiedMs = Date.parse(lastModified);
  const dateMs = Date.parse(date);
  return !Number.isNaN(modifiedMs) && !Number.isNaN(dateMs) && dateMs - modifiedMs >= 1000 ? lastModified : undefined;
}

function statusError(res: Response, label: string, nowEpochMs: number): DownloadError {
  const what = `${label}: HTTP ${res.status} ${res.statusText}`;
  if (res.status === 429 || res.status === 503) {
    const retryAfterMs = parseRetryAfterMs(res.headers.get('retry-after'), nowEpochMs);
    return new DownloadError('DOWNLOAD_BUSY', `${what}; retrying later`, 'retry', retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  if (res.status >= 500) return new DownloadError('DOWNLOAD_HTTP', `${what}; retrying`, 'retry');
  return new DownloadError('DOWNLOAD_HTTP', `${what}; trying the next mirror`, 'next-mirror');
}

function checkContentRange(res: Response, req: RangeRequest, label: string): void {
  const header = res.headers.get('content-range') ?? '';
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  const okRange = m !== null && Number(m[1]) === req.startBytes && Number(m[2]) === req.endBytes - 1
    && (m[3] === '*' || Number(m[3]) === req.totalSizeBytes);
  if (!okRange) {
    throw new DownloadError('DOWNLOAD_BAD_RANGE',
      `${label}: asked for bytes ${req.startBytes}-${req.endBytes - 1}/${req.totalSizeBytes}, got Content-Range ${JSON.stringify(header)}; trying the next mirror`, 'next-mirror');
  }
}

function checkLength(res: Response, expectedBytes: number, label: string): void {
  const length = res.headers.get('content-length');
  if (length !== null && Number(length) !== expectedBytes) {
    throw new DownloadError('DOWNLOAD_BAD_RANGE', `${label}: Content-Length ${length}, expected ${expectedBytes}; trying the next mirror`, 'next-mirror');
  }
}

/** Check the headers of `res` against `req`; throws a DownloadError saying how to react. */
export function checkResponse(res: Response, req: RangeRequest, label: string, nowEpochMs: number): RangeResponse {
  if (res.status !== 200 && res.status !== 206) throw statusError(res, label, nowEpochMs);
  const encoding = res.headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') {
    throw new DownloadError('DOWNLOAD_ENCODING', `${label}: server sent Content-Encoding ${encoding} although asked for identity; trying the next mirror`, 'next-mirror');
  }
  if (res.status === 206) {
    checkContentRange(res, req, label);
    checkLength(res, req.endBytes - req.startBytes, label);
  } else {
    checkLength(res, req.totalSizeBytes, label);
  }
  if (res.body === null) throw new DownloadError('DOWNLOAD_CUT', `${label}: response has no body; retrying`, 'retry');
  const validator = strongValidator(res.headers.get('etag'), res.headers.get('last-modified'), res.headers.get('date'));
  return { status: res.status, validator, body: res.body };
}

/** Send the request; waits for headers under the meter's stall limit. `controller` aborts the connection. */
export async function openRange(
  req: RangeRequest, meter: SpeedMeter, controller: AbortController, label: string, epochNowMs: () => number,
): Promise<RangeResponse> {
  const headers: Record<string, string> = {
    'accept-encoding': 'identity',
    range: `bytes=${req.startBytes}-${req.endBytes - 1}`,
  };
  if (req.ifRange !== undefined) headers['if-range'] = req.ifRange;
  // Loaded on first use: the idle agent never runs node-fetch's module code (bench/README.md, footprint).
  const { default: fetch } = await import('node-fetch');
  const pending = fetch(req.url, { headers, signal: controller.signal, compress: false });
  pending.catch(() => undefined);
  let res: Response;
  try {
    res = await meter.wait(pending, () => controller.abort());
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw new DownloadError('DOWNLOAD_CUT', `${label}: request failed (${err instanceof Error ? err.message : String(err)}); retrying`, 'retry', { cause: err });
  }
  return checkResponse(res, req, label, epochNowMs());
}
