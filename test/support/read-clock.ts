/**
 * A clock that moves only when the test says, and counts how often the code under test read it. A test that
 * checks that nothing happened once some time has passed moves the clock past that time, then waits for the
 * code to have read it a few times (it has looked at the new time and acted, or not), instead of sleeping a
 * fixed real time and hoping the machine was not too busy for the code to run meanwhile.
 */
import { until } from './sim-fleet.js';

/** A manual `nowMs` with a count of its reads. */
export class ReadClock {
  #nowMs: number;
  #reads = 0;

  constructor(startMs: number) { this.#nowMs = startMs; }

  /** The current time; counts the read. Pass as `nowMs` (bound). */
  readonly nowMs = (): number => { this.#reads += 1; return this.#nowMs; };

  /** Move the clock forward by `ms`. */
  advance(ms: number): void { this.#nowMs += ms; }

  /** Wait (real time, up to `timeoutMs`) until the clock was read `count` more times from now. */
  async readsMore(count: number, timeoutMs: number, what: string): Promise<void> {
    const target = this.#reads + count;
    await until(() => this.#reads >= target, timeoutMs, what);
  }
}
