/**
 * Timers for code run against in-memory fakes (FakePorts, MemoryJournal), whose work is all promise callbacks:
 * a timer fires at the next turn of the event loop, once every callback queued so far has run, which is when
 * nothing but a hang is left to wait for. A deadline then ends exactly the ports that hang, however loaded the
 * machine is; a real 30 ms deadline could also end a port that was merely slow to be scheduled.
 */

/** `Timers` (machine) / `HealthTimers` shape: `schedule` returns its cancel function. */
export const idleTimers = {
  schedule(fn: () => void, _delayMs: number): () => void {
    const handle = setImmediate(fn);
    return () => clearImmediate(handle);
  },
};
