/**
 * The runner: walks the table. For each state it saves the journal first when the
 * row says `persist`, counts the save (more than `maxSaves` saves of one state
 * without progress is the `loop` event), runs the handler under the state's
 * deadline, and follows the event to the next state, until `idle`.
 * Stopping (an aborted `signal`) models a power cut: nothing more is written.
 */
import { describe, OtaError } from '../errors/index.js';
import { monotonicClock, type Clock } from '../time/index.js';
import { opt } from './journal.js';
import { advance } from './sequence.js';
import type { Job, JournalRecord, JournalStore } from './journal.js';
import type { MachinePorts } from './ports.js';
import { runnerError, steps } from './steps.js';
import type { StepResult } from './steps.js';
import { corruptJournalResume, finalOutcome, machine, outcomeAfter } from './table.js';
import type { Event, State } from './table.js';

/** Injected timers (tests may pass their own): the one clock's `schedule`. */
export type Timers = Pick<Clock, 'schedule'>;

/** Runner settings (from the agent config). */
export interface MachineOptions {
  /** Saves of one state without progress before `loop` (a reboot loop ends). Default 3. */
  readonly maxSaves?: number;
  /** Deadline per state; a state without one has no deadline. */
  readonly deadlinesMs?: Partial<Record<State, number>>;
  readonly timers?: Timers;
  /** Called on every transition (logs, tests). */
  readonly onTransition?: (from: State, event: Event, to: State) => void;
  /** Called as each state begins, before its save (logs, tests listing the chain of states). */
  readonly onEnter?: (state: State) => void;
}

/** How a run ended: at rest, or stopped (power cut) in some state. */
export type RunResult = { readonly kind: 'rest'; readonly record: JournalRecord }
  | { readonly kind: 'stopped'; readonly state: State };

/** The update state machine over a journal store and the ports. One update at a time. */
export class Machine {
  private record: JournalRecord = { state: 'idle', highestSequence: 0 };
  private running = false;
  private resumed = false;
  private readonly maxSaves: number;
  private readonly timers: Timers;

  constructor(private readonly ports: MachinePorts, private readonly store: JournalStore,
    private readonly options: MachineOptions = {}) {
    this.maxSaves = options.maxSaves ?? 3;
    this.timers = options.timers ?? monotonicClock;
  }

  /** The last record saved or loaded (state, job, highest sequence, last outcome). */
  get current(): JournalRecord { return this.record; }

  /** True once `resume` has read the journal: before, `current` is a blank record, not the device's. */
  get loaded(): boolean { return this.resumed; }

  /** True while an update runs, and before `resume` has read the journal. */
  get busy(): boolean { return !this.resumed || this.running || this.record.state !== 'idle'; }

  /** Load the journal and run whatever it says is unfinished to rest. Call once at start. */
  async resume(signal: AbortSignal): Promise<RunResult> {
    const loaded = await this.store.load();
    this.resumed = true;
    if (loaded.kind === 'empty') return { kind: 'rest', record: this.record };
    if (loaded.kind === 'corrupt') {
      const job: Job = { noticeBase64: '', progress: 0, saves: {}, error: `update journal unreadable (${loaded.reason}): reverting to the last committed slot`, errorCode: 'JOURNAL_CORRUPT' };
      return this.run(corruptJournalResume, job, signal);
    }
    this.record = loaded.record;
    const { state, job } = loaded.record;
    if (state === 'idle') return { kind: 'rest', record: this.record };
    return this.run(machine[state].resume, job ?? { noticeBase64: '', progress: 0, saves: {} }, signal);
  }

  /**
   * Start installing `notice` from rest. Throws `MACHINE_BUSY` while an update runs, and
   * `MACHINE_NOT_RESUMED` before `resume` (starting blind would overwrite an unfinished journal).
   */
  start(notice: Uint8Array, signal: AbortSignal): Promise<RunResult> {
    return this.leaveRest('notice', { noticeBase64: Buffer.from(notice).toString('base64'), progress: 0, saves: {} }, signal);
  }

  /**
   * From rest, try again the committed slot a lost env took out of first place: `job` names it
   * (`target`), the slot booted now (`previous`) and the release the records say it holds.
   */
  restore(job: Job, signal: AbortSignal): Promise<RunResult> {
    return this.leaveRest('restore', job, signal);
  }

  /**
   * Give up the update the journal holds, from a state whose row routes `abandon` (before the trial
   * is armed, the booted slot still boots next): it is reported `failed` with `reason`, and the
   * machine rests. Throws `MACHINE_NOT_ABANDONABLE` in any other state, `MACHINE_BUSY` while it runs.
   */
  async abandon(reason: string, signal: AbortSignal): Promise<RunResult> {
    if (this.running) throw new OtaError('MACHINE_BUSY', 'an update is running in this process: it cannot be abandoned from here', { transient: true });
    if (!this.resumed) {
      const loaded = await this.store.load();
      this.resumed = true;
      if (loaded.kind === 'ok') this.record = loaded.record;
    }
    const { state, job } = this.record;
    if (machine[state].on.abandon === undefined || job === undefined) {
      throw new OtaError('MACHINE_NOT_ABANDONABLE', `the update journal is in state ${state}: only an update whose trial is not armed yet can be abandoned; resume it (ota-agent post-boot) or roll back once it rests`);
    }
    return this.leave(state, 'abandon', { ...job, error: reason, errorCode: 'UPDATE_ABANDONED' }, signal);
  }

  private async leaveRest(event: 'notice' | 'restore', job: Job, signal: AbortSignal): Promise<RunResult> {
    const what = event === 'notice' ? 'starts a notice' : 'restores a slot';
    if (!this.resumed) throw new OtaError('MACHINE_NOT_RESUMED', `the update machine must resume its journal before it ${what}`);
    if (this.busy) throw new OtaError('MACHINE_BUSY', `an update is already running: ${event === 'notice' ? 'the notice waits for it to finish' : 'no slot is restored'}`, { transient: true });
    return this.leave('idle', event, job, signal);
  }

  /** Follow `event` out of `state` (not running), then run from where it leads. */
  private leave(state: State, event: Event, job: Job, signal: AbortSignal): Promise<RunResult> {
    const next = this.transition(state, event, job);
    return this.run(next.state, next.job, signal);
  }

  /** The one way from a state to the next: the table's route for `event`, and the outcome its columns decide. */
  private transition(state: State, event: Event, job: Job): { state: State; job: Job } {
    // The handlers' types allow only the events their row routes; this guards the runner's own and the callers'.
    const to = machine[state].on[event];
    if (to === undefined) throw new OtaError('MACHINE_TABLE', `state table: ${state} has no ${event} transition`);
    this.options.onTransition?.(state, event, to);
    return { state: to, job: { ...job, ...opt('outcome', outcomeAfter(state, event, job.outcome)) } };
  }

  private async run(first: State, firstJob: Job, signal: AbortSignal): Promise<RunResult> {
    this.running = true;
    try {
      let state = first;
      let job = firstJob;
      while (state !== 'idle') {
        if (signal.aborted) return { kind: 'stopped', state };
        this.options.onEnter?.(state);
        const result = await this.step(state, job, signal);
        if (result === 'stopped') return { kind: 'stopped', state };
        ({ state, job } = this.transition(state, result.event, result.job));
      }
      return await this.rest(job, signal);
    } finally {
      this.running = false;
    }
  }

  /** Save (when the row says so), count, run the handler under its deadline. */
  private async step(state: Exclude<State, 'idle'>, job: Job, signal: AbortSignal): Promise<StepResult | 'stopped'> {
    const saves = (job.saves[state] ?? 0) + 1;
    if (machine[state].persist) {
      if (saves > this.maxSaves) return this.failed('loop', job, runnerError(state, 'loop', this.maxSaves));
      job = { ...job, saves: { ...job.saves, [state]: saves } };
      await this.save(state, job);
      if (signal.aborted) return 'stopped';
    }
    let current = job;
    const checkpoint = async (progress: number): Promise<void> => {
      if (signal.aborted) throw new OtaError('MACHINE_STOPPED', 'the update runner was stopped');
      // Only forward progress resets the save counter: a crash loop at one offset still ends.
      const saves = progress > current.progress ? { ...current.saves, [state]: 1 } : current.saves;
      current = { ...current, progress, saves };
      await this.save(state, current);
    };
    const outcome = await this.withDeadline(state, signal, (stepSignal) =>
      steps[state](current, { ports: this.ports, signal: stepSignal, checkpoint }));
    if (outcome.kind === 'stopped' || signal.aborted) return 'stopped';
    if (outcome.kind === 'timeout') return this.failed('timeout', current, runnerError(state, 'timeout', outcome.limitMs));
    if (outcome.kind === 'error') return this.failed('fail', current, outcome.error);
    return outcome.result;
  }

  private failed(event: Event, job: Job, err: unknown): StepResult {
    const { errorCode: _stale, ...rest } = job;
    return { event, job: { ...rest, error: describe(err), ...opt('errorCode', err instanceof OtaError ? err.code : undefined) } };
  }

  /** Run `work` until it settles, the state's deadline passes, or the runner stops. */
  private withDeadline(state: State, signal: AbortSignal, work: (s: AbortSignal) => Promise<StepResult>): Promise<
    { kind: 'done'; result: StepResult } | { kind: 'error'; error: unknown } | { kind: 'timeout'; limitMs: number } | { kind: 'stopped' }> {
    const limitMs = this.options.deadlinesMs?.[state];
    const controller = new AbortController();
    return new Promise((resolve) => {
      let cancel = (): void => undefined;
      const onStop = (): void => { controller.abort(); finish({ kind: 'stopped' }); };
      const finish = (value: Parameters<typeof resolve>[0]): void => {
        cancel();
        signal.removeEventListener('abort', onStop);
        resolve(value);
      };
      signal.addEventListener('abort', onStop, { once: true });
      if (limitMs !== undefined) {
        cancel = this.timers.schedule(() => { controller.abort(); finish({ kind: 'timeout', limitMs }); }, limitMs);
      }
      work(controller.signal).then((result) => finish({ kind: 'done', result }), (error: unknown) => finish({ kind: 'error', error }));
    });
  }

  private async save(state: State, job: Job): Promise<void> {
    const record: JournalRecord = { state, job, ...this.highest(job), ...opt('last', this.record.last) };
    await this.store.save(record);
    this.record = record;
  }

  /** The journal's notice order after `job` (sequence.ts: a new epoch of rollout keys restarts it). */
  private highest(job: Job): Pick<JournalRecord, 'highestSequence' | 'sequenceEpoch'> {
    const held = { sequence: this.record.highestSequence, epoch: this.record.sequenceEpoch };
    const mark = advance(held, job.sequence === undefined ? undefined : { sequence: job.sequence, epoch: job.sequenceEpoch });
    return { highestSequence: mark.sequence, ...opt('sequenceEpoch', mark.epoch) };
  }

  private async rest(job: Job, signal: AbortSignal): Promise<RunResult> {
    if (signal.aborted) return { kind: 'stopped', state: 'idle' };
    this.options.onEnter?.('idle');
    const last = { outcome: finalOutcome(job.outcome), ...opt('version', job.version), ...opt('error', job.error), ...opt('errorCode', job.errorCode) };
    const record: JournalRecord = { state: 'idle', ...this.highest(job), last };
    await this.store.save(record);
    this.record = record;
    return { kind: 'rest', record };
  }
}
