/**
 * The update state machine as ONE table (STYLE.md): for each state, whether it is
 * saved to the journal before its handler runs, where a saved state resumes after
 * a crash or reboot, and where each outcome event leads. Handlers (steps.ts) do
 * the work and return an event; they never choose the next state.
 */

/** Every state of an update, from rest (`idle`) through the trial boot to the report. */
export type State =
  | 'idle'
  | 'verifying'      // check the notice's signature, version floor, target hardware
  | 'installing'     // download + apply, streamed into the inactive slot
  | 'verifyingSlot'  // read the written slot back and compare its digest
  | 'arming'         // one env write: the new slot becomes primary, on trial
  | 'rebooting'      // ask for the reboot into the trial slot
  | 'checking'       // trial boot: health check
  | 'committing'     // one env write: the trial slot is good
  | 'reverting'      // one env write: the trial slot is bad, the previous slot primary
  | 'rebootingBack'  // reverted while running the bad slot: reboot into the previous one
  | 'reporting';     // record the outcome for the status document

/** Outcome events handlers return; `timeout` and `loop` come from the runner, `abandon` from the operator. */
export type Event =
  | 'notice'    // idle: a notice was accepted for installation
  | 'restore'   // idle: the env lost the committed slot (the bootloader's defaults booted the other): try it again
  | 'ok'        // the step did what it should
  | 'fail'      // the step failed (handler threw or refused)
  | 'timeout'   // the step passed its deadline (a hang)
  | 'loop'      // the state was saved more than `maxSaves` times without progress
  | 'abandon'   // before arming: the operator gave the update up (ota-agent rollback)
  | 'fellBack'  // trial boot: the trial slot's boots ended without the agent (the bootloader fell back, or refilled spent tries)
  | 'rearm'     // trial boot: the env was lost (the bootloader's defaults booted the previous slot): arm again
  | 'reboot';   // still running a slot the bootloader will not boot next: reboot first

/** The outcome of an update: how it ended, for the report and the status document. */
export type Outcome = 'installed' | 'reverted' | 'rejected' | 'failed';

/**
 * Where an update stands, for the code outside the machine that must know (one per row, so
 * no list of state names lives elsewhere): `install` before arming (the booted slot still
 * boots next), `arm` the env write of the trial, `reboot` on the way into it, `trial` running
 * the health check and the commit, `revert` on the way back, `report`, and `rest`.
 */
export type Phase = 'rest' | 'install' | 'arm' | 'reboot' | 'trial' | 'revert' | 'report';

/** One row of the table. */
export interface Row {
  /** Save the journal (state + job) before the handler runs. */
  readonly persist: boolean;
  /** The state to run when the journal says the process died in this state. */
  readonly resume: State;
  readonly phase: Phase;
  /** The outcome once this state is left by a failure (`fail`, `timeout`, `loop`, `fellBack`, `abandon`). */
  readonly failed?: Outcome;
  /** The outcome once this state's work is done (`ok`, or `reboot` after its env write). */
  readonly passed?: Outcome;
  /** Where each outcome leads. An event missing here is a type error in the handler that returns it. */
  readonly on: Partial<Record<Event, State>>;
}

/** Events the runner makes itself: every working row leads each somewhere. */
type RunnerEvent = 'fail' | 'timeout' | 'loop';

/**
 * The machine. Before `arming` the booted slot still boots next (the install only takes
 * the slot it writes out of the boot order), so every failure ends in `reporting`, and the operator
 * may `abandon` the update; from `arming` on, every failure ends in `reverting`.
 * A revert that cannot write the env reboots anyway: each boot uses one of the
 * bootloader's tries, so the counters finish the revert (the save counter ends it).
 * `rebooting` resumes into `checking`: after the reboot, we run in the trial boot
 * (if only the agent restarted and the device did not reboot, `checking` sees the
 * old slot still booted in the boot that armed, and goes back to `rebooting`).
 * `checking` that finds the trial's boots gone by without the agent (another slot booted in a later
 * boot, or every slot's tries ran out and the script refilled them) fails the trial: `fellBack`.
 * `checking` that finds the old slot booted and the new one committed-looking, with its tries and no trial
 * (the script's defaults after a lost env: no fall-back gives a tried slot its tries back), arms the trial
 * again instead of failing a release that never ran; the save counter ends it if the env keeps getting lost.
 * `committing` that finds the old slot booted (the env was lost after the health check passed, and the
 * bootloader's defaults chose the old slot) commits the new slot as primary and goes back to `rebooting`:
 * the trial boot runs again, health check included.
 * `restore` is the same loss at rest: the records say the committed slot is the other one, and the env
 * shows it bootable but second (a fall-back spends its tries instead). The agent arms a trial of it
 * (`arming`, with a job for the release the records say it holds), so a slot that no longer boots or
 * passes falls back and is reverted like any trial.
 * The outcome columns are the one place an outcome is decided (see `outcomeAfter`).
 */
const rows = {
  idle:          { persist: true, resume: 'idle',          phase: 'rest',                                         on: { notice: 'verifying', restore: 'arming' } },
  verifying:     { persist: true, resume: 'verifying',     phase: 'install', failed: 'rejected',                  on: { ok: 'installing',    fail: 'reporting',     timeout: 'reporting',     loop: 'reporting', abandon: 'reporting' } },
  installing:    { persist: true, resume: 'installing',    phase: 'install', failed: 'failed',                    on: { ok: 'verifyingSlot', fail: 'reporting',     timeout: 'reporting',     loop: 'reporting', abandon: 'reporting' } },
  verifyingSlot: { persist: true, resume: 'verifyingSlot', phase: 'install', failed: 'failed',                    on: { ok: 'arming',        fail: 'reporting',     timeout: 'reporting',     loop: 'reporting', abandon: 'reporting' } },
  arming:        { persist: true, resume: 'arming',        phase: 'arm',     failed: 'failed',                    on: { ok: 'rebooting',     fail: 'reverting',     timeout: 'reverting',     loop: 'reverting' } },
  rebooting:     { persist: true, resume: 'checking',      phase: 'reboot',  failed: 'failed',                    on: { ok: 'checking',      fail: 'reverting',     timeout: 'reverting',     loop: 'reverting' } },
  checking:      { persist: true, resume: 'checking',      phase: 'trial',   failed: 'failed',                    on: { ok: 'committing',    fail: 'reverting',     timeout: 'reverting',     loop: 'reverting', fellBack: 'reverting', reboot: 'rebooting', rearm: 'arming' } },
  committing:    { persist: true, resume: 'committing',    phase: 'trial',   failed: 'failed', passed: 'installed', on: { ok: 'reporting',   fail: 'reverting',     timeout: 'reverting',     loop: 'reverting', reboot: 'rebooting' } },
  reverting:     { persist: true, resume: 'reverting',     phase: 'revert',  failed: 'failed', passed: 'reverted',  on: { ok: 'reporting',   fail: 'rebootingBack', timeout: 'rebootingBack', loop: 'reporting', reboot: 'rebootingBack' } },
  rebootingBack: { persist: true, resume: 'reverting',     phase: 'revert',  failed: 'failed',                    on: { ok: 'reverting',     fail: 'reporting',     timeout: 'reporting',     loop: 'reporting' } },
  reporting:     { persist: true, resume: 'reporting',     phase: 'report',                                       on: { ok: 'idle',          fail: 'idle',          timeout: 'idle',          loop: 'idle' } },
} as const satisfies { readonly idle: Row } & { readonly [S in Exclude<State, 'idle'>]: Row & { readonly on: Record<RunnerEvent, State> } };

/** The events the row of `S` leads somewhere: what its handler may return. */
export type EventOf<S extends State> = keyof (typeof rows)[S]['on'] & Event;

/** The machine, one row per state. */
export const machine: { readonly [S in State]: Row } = rows;

const FAILURES: readonly Event[] = ['fail', 'timeout', 'loop', 'fellBack', 'abandon'];
const PASSES: readonly Event[] = ['ok', 'reboot'];

/** The outcome of an update once `event` leaves `state`, `current` before: the row's `failed` or `passed` column, else unchanged. */
export function outcomeAfter(state: State, event: Event, current: Outcome | undefined): Outcome | undefined {
  const row = machine[state];
  return (FAILURES.includes(event) ? row.failed : PASSES.includes(event) ? row.passed : undefined) ?? current;
}

/** The outcome reported: the one decided, or `failed` for an update that reached the report with none (a journal saved without one). */
export function finalOutcome(current: Outcome | undefined): Outcome {
  return current ?? 'failed';
}

/** The states of `phase`, in table order. */
export function statesIn(...phases: readonly Phase[]): readonly State[] {
  return states.filter((s) => phases.includes(machine[s].phase));
}

/** Every state, in table order. */
export const states: readonly State[] = ['idle', 'verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting',
  'checking', 'committing', 'reverting', 'rebootingBack', 'reporting'];

/** The state a journal that cannot be read (unknown format, torn, checksum wrong) resumes into. */
export const corruptJournalResume: State = 'reverting';

/** True when `value` names a state (for validating a journal). */
export function isState(value: unknown): value is State {
  return states.some((s) => s === value);
}
