/**
 * The one way to wait: on an injected clock, cut short by an AbortSignal.
 */
import type { Clock } from './clock.js';

/** How a sleep ended. */
export type SleepEnd = 'elapsed' | 'aborted';

/**
 * Wait `delayMs` on `clock`. Resolves `'elapsed'`, or `'aborted'` as soon as `signal` fires
 * (at once when it already has); the caller decides whether an abort is an error.
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<SleepEnd> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) { resolve('aborted'); return; }
    const onAbort = (): void => { cancel(); resolve('aborted'); };
    const cancel = clock.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve('elapsed');
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
