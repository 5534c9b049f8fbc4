/**
 * The manual clock tests pass wherever code takes the agent's one `Clock` (agent/src/time).
 */
import type { Clock } from '../../agent/src/time/index.js';

/** A clock that moves only when told; timers fire in time order during `advance`. */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { atMs: number; fn: () => void }>();

  nowMs(): number { return this.t; }

  schedule(fn: () => void, delayMs: number): () => void {
    const id = this.seq++;
    this.timers.set(id, { atMs: this.t + Math.max(0, delayMs), fn });
    return () => { this.timers.delete(id); };
  }

  /** Timers still pending, by due time. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.atMs).sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let next: [number, { atMs: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].atMs <= target && (next === undefined || e[1].atMs < next[1].atMs)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].atMs;
      next[1].fn();
    }
    this.t = target;
  }
}
