/**
 * Time for the whole agent (and the fleet tools): one clock interface with a monotonic and a
 * wall instance, one abortable sleep on it, one backoff. Everything that waits takes them injected.
 */
export { monotonicClock, wallClock } from './clock.js';
export type { Cancel, Clock, Random } from './clock.js';
export { sleep } from './sleep.js';
export type { SleepEnd } from './sleep.js';
export { Backoff, DEFAULT_BACKOFF, fullJitterDelayMs } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
