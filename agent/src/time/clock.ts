/**
 * Time, injected: code that waits or measures takes a `Clock` and never calls Date.now,
 * performance.now or setTimeout itself, so tests drive it with a manual clock instead of
 * sleeping and hoping the machine is idle.
 */

/** Cancels a scheduled callback; calling it after the callback ran does nothing. */
export type Cancel = () => void;

/** A clock with timers. */
export interface Clock {
  /**
   * Milliseconds on this clock's scale: `monotonicClock` for intervals and deadlines (never jumps
   * when the device sets its wall clock), `wallClock` where the time is written into a document.
   */
  nowMs(): number;
  /** Run `fn` after `delayMs` (0 or less: on the next turn of the event loop). */
  schedule(fn: () => void, delayMs: number): Cancel;
}

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

function schedule(fn: () => void, delayMs: number): Cancel {
  const handle = setTimeout(fn, Math.max(0, delayMs));
  return () => clearTimeout(handle);
}

/** The process's monotonic clock (performance.now) and timers. */
export const monotonicClock: Clock = { nowMs: () => performance.now(), schedule };

/** The wall clock (Date.now, epoch milliseconds) and timers. */
export const wallClock: Clock = { nowMs: () => Date.now(), schedule };
