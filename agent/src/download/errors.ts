/**
 * The downloader's errors: an OtaError that also says how the mirror loop
 * reacts (retry the same mirror after a delay, drop the mirror, or restart
 * the segment at once).
 */
import { OtaError } from '../errors/index.js';

/** How the download loop reacts to a failed attempt. */
export type Reaction =
  /** Retry on the same mirror after a backoff delay (a cut, a stall, a 5xx). */
  | 'retry'
  /** This mirror misbehaved: drop it and go on with the next one. */
  | 'next-mirror'
  /** The file changed under us: drop the partial segment and fetch it again at once. */
  | 'restart-segment';

/** Codes the downloader throws, each with one meaning. */
export type DownloadErrorCode =
  | 'DOWNLOAD_STALL' | 'DOWNLOAD_TRICKLE' | 'DOWNLOAD_CUT' | 'DOWNLOAD_HTTP' | 'DOWNLOAD_BUSY'
  | 'DOWNLOAD_OVERLONG' | 'DOWNLOAD_BAD_RANGE' | 'DOWNLOAD_ENCODING' | 'DOWNLOAD_NO_RANGE'
  | 'DOWNLOAD_HASH_MISMATCH' | 'DOWNLOAD_CHANGED';

/** An attempt that failed, with the reaction it calls for. */
export class DownloadError extends OtaError {
  /** What the download loop does next. */
  readonly reaction: Reaction;
  /** The server's Retry-After, when it gave one (429/503). */
  readonly retryAfterMs: number | undefined;

  constructor(code: DownloadErrorCode, message: string, reaction: Reaction, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(code, message, { cause: options.cause, transient: reaction !== 'next-mirror' });
    this.name = 'DownloadError';
    this.reaction = reaction;
    this.retryAfterMs = options.retryAfterMs;
  }
}
