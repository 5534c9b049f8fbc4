/**
 * Time and chance, injected: the downloader never calls Date.now, setTimeout or
 * Math.random itself, so tests drive it with a fake clock and a seeded source.
 */
import { OtaError } from '../errors/index.js';

/** A clock with timers. `now` is in milliseconds on any monotonic-enough scale. */
export interface Clock {
  now(): number;
  /** Run `fn` after `delayMs`; the returned function cancels it. */
  setTimer(delayMs: number, fn: () => void): () => void;
}

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** The process clock (performance.now and setTimeout). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (delayMs, fn) => {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(t);
  },
};

/** The error a download throws when its AbortSignal fires. */
export function abortError(signal: AbortSignal): OtaError {
  return new OtaError('DOWNLOAD_ABORTED', 'download: aborted by the caller', { cause: signal.reason });
}

/** Wait `delayMs` on `clock`; rejects with DOWNLOAD_ABORTED as soon as `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(abortError(signal)); return; }
    const onAbort = (): void => { cancel(); if (signal !== undefined) reject(abortError(signal)); };
    const cancel = clock.setTimer(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
