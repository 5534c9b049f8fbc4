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
 *   later, a bounded number of times; a newer notice cancels that.
 * Memory is bounded: at most one waiting notice.
 */
import type { Cancel, Random } from '../time/index.js';
import { retriable, retryDelayMs, type RetryPolicy } from './retry.js';
import type { RunResult, Timers } from './runner.js';
import type { VerifiedNotice } from './ports.js';
import { floorFor, type SequenceMark } from './sequence.js';

/** What `offer` did with a notice. */
export type Offered = 'started' | 'queued' | 'superseded' | 'duplicate' | 'stale' | 'invalid';

/** The part of the Machine the inbox uses. */
export interface InboxMachine {
  readonly busy: boolean;
  readonly current: { readonly highestSequence: number; readonly sequenceEpoch?: string };
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
    if (id.sequence === floor) return 'duplicate';
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
        this.afterRun(next, result);
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

  /** After an install of `ran` reached rest: schedule its retry when the policy says so. */
  private afterRun(ran: Waiting, result: RunResult): void {
    const r = this.deps.retry;
    const prior = this.retrying?.notice === ran ? this.retrying.retries : 0;
    this.stopRetry();
    if (r === undefined || result.kind !== 'rest' || !retriable(result.record) || this.deps.signal.aborted) return;
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
