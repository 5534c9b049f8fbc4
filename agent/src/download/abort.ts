/**
 * A download stops when its AbortSignal fires, with one error: DOWNLOAD_ABORTED.
 */
import { OtaError } from '../errors/index.js';
import { sleep, type Clock } from '../time/index.js';

/** The error a download throws when its AbortSignal fires. */
export function abortError(signal: AbortSignal): OtaError {
  return new OtaError('DOWNLOAD_ABORTED', 'download: aborted by the caller', { cause: signal.reason });
}

/** Wait `delayMs` on `clock`; rejects with DOWNLOAD_ABORTED as soon as `signal` aborts. */
export async function pause(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (await sleep(clock, delayMs, signal) === 'aborted' && signal !== undefined) throw abortError(signal);
}
