/**
 * The notice inbox: the one door into the machine, so there are never two
 * installs at once. The rule (documented in docs/mqtt.md):
 * - a notice is keyed by the sequence the verifier reads from it; a sequence at or
 *   below the highest one accepted (or the one installing now) is a duplicate or
 *   stale and is ignored, so redelivery and out-of-order delivery are safe; sequences
 *   compare within one epoch of rollout keys (sequence.ts: a rotation restarts them);
 * - a notice arriving during an install waits; only the newest waiting notice is
 *   kept (a newer one supersedes it); it starts when the install reaches rest.
 * - an install that failed for a cause that may go away (retry.ts) offers the same notice again
 *   later, a bounded number of times; a newer notice cancels that. With a store the count is kept
 *   across agent restarts (retry-store.ts): the failed notice, offered again after a restart as a
 *   duplicate, resumes its retries from the saved count, and one the policy gave up on stays given up.
 * Memory is bounded: at most one waiting notice.
 */
import type { Cancel, Random } from '../time/index.js';
import { retriable, retryDelayMs, type RetryPolicy } from './retry.js';
import type { RunResult, Timers } from './runner.js';
import type { VerifiedNotice } from './ports.js';
import { floorFor, type SequenceMark } from './sequence.js';
import type { JournalRecord } from './journal.js';
import type { RetryMark, RetryStore } from './retry-store.js';

/** What `offer` did with a notice. */
export type Offered = 'started' | 'queued' | 'superseded' | 'duplicate' | 'stale' | 'invalid';

/** The part of the Machine the inbox uses. */
export interface InboxMachine {
  readonly busy: boolean;
  /** The journal's record (state and last outcome: a retry resumed after a restart needs them). */
  readonly current: { readonly highestSequence: number; readonly sequenceEpoch?: string; readonly state?: JournalRecord['state']; readonly last?: JournalRecord['last'] };
  start(notice: Uint8Array, signal: AbortSignal): Promise<RunResult>;
}

/** Inbox dependencies. */
export interface InboxDeps {
  /** Read the version and sequence of a notice (the verifier); throw when it is not a valid notice. */
  identify(notice: Uint8Array): Promise<VerifiedNotice>;
  readonly machine: InboxMachine;
  /** Stops draining (agent shutdown). */
  readonly signal: AbortSignal;
  /** An install that ended with an error the machine could not handle (journal I/O). */
  onError?(err: unknown): void;
  /** Every install that reached rest or stopped. */
  onRun?(result: RunResult): void;
  /** Why `identify` refused a notice (`invalid`): a bad signature, or a release this device must not take (failed here before). */
  onInvalid?(err: unknown): void;
  /** Retry a failed install later (retry.ts); absent: never. */
  readonly retry?: InboxRetry;
}

/** The retry policy of an inbox and what it runs on. */
export interface InboxRetry {
  readonly policy: RetryPolicy;
  readonly timers: Timers;
  readonly random: Random;
  /** A retry was scheduled (`delayMs` from now; `retry` counts from 1), or (`delayMs` undefined) the policy gave up. */
  onRetry?(e: { readonly sequence: number; readonly retry: number; readonly maxRetries: number; readonly delayMs: number | undefined }): void;
  /** Keeps the count across agent restarts (retry-store.ts); absent: per run only. */
  readonly store?: RetryStore;
  /** The store could not be written (the retry goes on; after a restart its count may start lower). */
  onStoreError?(err: unknown): void;
}

interface Waiting extends VerifiedNotice { readonly notice: Uint8Array }

/** Serializes notices into the machine; see the module comment for the rule. */
export class NoticeInbox {
  private waiting: Waiting | undefined;
  private inFlight: SequenceMark | undefined;
  private draining: Promise<void> | undefined;
  /** The notice a retry is scheduled for, how many retries it had, and the timer. */
  private retrying: { readonly notice: Waiting; readonly retries: number; cancel: Cancel | undefined } | undefined;

  constructor(private readonly deps: InboxDeps) {
    deps.signal.addEventListener('abort', () => this.stopRetry(), { once: true });
  }

  /** Offer a received notice (opaque bytes). Resolves once it is started, queued or ignored. */
  async offer(notice: Uint8Array): Promise<Offered> {
    let id: VerifiedNotice;
    try {
      id = await this.deps.identify(notice);
    } catch (err) {
      this.deps.onInvalid?.(err);
      return 'invalid';
    }
    const { highestSequence, sequenceEpoch } = this.deps.machine.current;
    const floor = floorFor(id.epoch, [{ sequence: highestSequence, epoch: sequenceEpoch }, this.inFlight, this.waiting]);
    if (id.sequence < floor) return 'stale';
    if (id.sequence === floor) {
      await this.resumeRetry(id, notice);
      return 'duplicate';
    }
    const superseded = this.waiting !== undefined;
    this.stopRetry(); // a newer notice replaces the one a retry would offer again
    this.waiting = { ...id, notice: Uint8Array.from(notice) };
    if (this.draining !== undefined || this.deps.machine.busy) return superseded ? 'superseded' : 'queued';
    this.kick();
    return 'started';
  }

  /** Start the waiting notice if the machine is at rest (call after `Machine.resume`). */
  kick(): void {
    if (this.draining !== undefined || this.deps.machine.busy || this.waiting === undefined) return;
    this.draining = this.drain().finally(() => { this.draining = undefined; });
  }

  /** Resolves when nothing is installing from this inbox (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  /** The sequence of the waiting notice, if any. */
  get waitingSequence(): number | undefined { return this.waiting?.sequence; }

  private async drain(): Promise<void> {
    for (let next = this.waiting; next !== undefined && !this.deps.signal.aborted; next = this.waiting) {
      this.waiting = undefined;
      this.inFlight = next;
      try {
        const result = await this.deps.machine.start(next.notice, this.deps.signal);
        this.deps.onRun?.(result);
        await this.afterRun(next, result);
      } catch (err) {
        this.deps.onError?.(err);
        return;
      } finally {
        this.inFlight = undefined;
      }
    }
  }

  /**
   * A newer rollout document, signed and checked, that does not target this device (a halt, a narrower
   * stage) was seen: the fleet withdrew the notice a retry would offer again, so the retry stops.
   */
  withdrawnBy(rolloutSequence: number): void {
    if (this.retrying !== undefined && this.retrying.notice.sequence < rolloutSequence) this.stopRetry();
  }

  /** After an install of `ran` reached rest: schedule its retry when the policy says so (and keep the count). */
  private async afterRun(ran: Waiting, result: RunResult): Promise<void> {
    const r = this.deps.retry;
    const prior = this.retrying?.notice === ran ? this.retrying.retries : 0;
    this.stopRetry();
    if (r === undefined || result.kind !== 'rest' || this.deps.signal.aborted) return;
    if (!retriable(result.record)) {
      await this.saveMark(undefined);
      return;
    }
    await this.saveMark({ sequence: ran.sequence, ...(ran.epoch === undefined ? {} : { epoch: ran.epoch }), retries: prior + 1 });
    this.schedule(ran, prior, r);
  }

  /**
   * The notice that failed, offered again after an agent restart (the retained rollout document, the
   * resync): it is a duplicate, but its retry was under way. Go on from the saved count; never past it.
   */
  private async resumeRetry(id: VerifiedNotice, notice: Uint8Array): Promise<void> {
    const r = this.deps.retry;
    const store = r?.store;
    if (r === undefined || store === undefined || !this.failedAtRest(id)) return;
    const mark = await store.load().catch(() => undefined);
    // Retries scheduled before the restart; the last one may not have run: it is scheduled again, never one more.
    const scheduled = mark !== undefined && mark.sequence === id.sequence && mark.epoch === id.epoch ? mark.retries : 0;
    if (scheduled > r.policy.maxRetries) return; // the policy gave up before the restart
    if (scheduled === 0) await this.saveMark({ sequence: id.sequence, ...(id.epoch === undefined ? {} : { epoch: id.epoch }), retries: 1 });
    // Checked again after the awaits: a newer notice, or another copy of this one, may have come meanwhile.
    if (this.failedAtRest(id)) this.schedule({ ...id, notice: Uint8Array.from(notice) }, Math.max(0, scheduled - 1), r);
  }

  /** True when nothing runs, waits or is retried, and the journal's rest is a retriable failure of `id`. */
  private failedAtRest(id: VerifiedNotice): boolean {
    const cur = this.deps.machine.current;
    if (this.retrying !== undefined || this.waiting !== undefined || this.inFlight !== undefined || this.deps.machine.busy) return false;
    if (cur.state === undefined || cur.highestSequence !== id.sequence || cur.sequenceEpoch !== id.epoch) return false;
    return retriable({ state: cur.state, highestSequence: cur.highestSequence, ...(cur.last === undefined ? {} : { last: cur.last }) });
  }

  private async saveMark(mark: RetryMark | undefined): Promise<void> {
    const store = this.deps.retry?.store;
    if (store === undefined) return;
    try {
      await store.save(mark);
    } catch (err) {
      this.deps.retry?.onStoreError?.(err);
    }
  }

  /** Schedule retry number `prior + 1` of `ran`, or report that the policy gave up. */
  private schedule(ran: Waiting, prior: number, r: InboxRetry): void {
    const delayMs = retryDelayMs(prior, r.policy, r.random);
    r.onRetry?.({ sequence: ran.sequence, retry: prior + 1, maxRetries: r.policy.maxRetries, delayMs });
    if (delayMs === undefined) return;
    const retrying: NonNullable<NoticeInbox['retrying']> = { notice: ran, retries: prior + 1, cancel: undefined };
    this.retrying = retrying;
    retrying.cancel = r.timers.schedule(() => {
      retrying.cancel = undefined;
      if (this.retrying !== retrying || this.waiting !== undefined || this.deps.signal.aborted) return;
      this.waiting = ran; // the same notice, past the floor check: it is the one that failed
      this.kick();
    }, delayMs);
  }

  private stopRetry(): void {
    this.retrying?.cancel?.();
    this.retrying = undefined;
  }
}
