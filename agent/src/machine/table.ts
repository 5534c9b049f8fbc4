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

/** Outcome events handlers return; `loop` and `timeout` come from the runner. */
export type Event =
  | 'notice'    // idle: a notice was accepted for installation
  | 'restore'   // idle: the env lost the committed slot (the bootloader's defaults booted the other): try it again
  | 'ok'        // the step did what it should
  | 'fail'      // the step failed (handler threw or refused)
  | 'timeout'   // the step passed its deadline (a hang)
  | 'loop'      // the state was saved more than `maxSaves` times without progress
  | 'fellBack'  // trial boot: the bootloader booted the previous slot (boot counters ran out)
  | 'rearm'     // trial boot: the env was lost (the bootloader's defaults booted the previous slot): arm again
  | 'reboot';   // still running a slot the bootloader will not boot next: reboot first

/** One row of the table. */
export interface Row {
  /** Save the journal (state + job) before the handler runs. */
  readonly persist: boolean;
  /** The state to run when the journal says the process died in this state. */
  readonly resume: State;
  /** Where each outcome leads. The runner treats an event missing here as `fail` (the safe side). */
  readonly on: Partial<Record<Event, State>>;
}

/**
 * The machine. Before `arming` the booted slot still boots next (the install only takes
 * the slot it writes out of the boot order), so every failure ends in `reporting`; from `arming` on, every failure ends in `reverting`.
 * A revert that cannot write the env reboots anyway: each boot uses one of the
 * bootloader's tries, so the counters finish the revert (the save counter ends it).
 * `rebooting` resumes into `checking`: after the reboot, we run in the trial boot
 * (if only the agent restarted and the device did not reboot, `checking` sees the
 * old slot still booted while the new one is primary, and goes back to `rebooting`).
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
 */
export const machine: { readonly [S in State]: Row } = {
  idle:          { persist: true, resume: 'idle',          on: { notice: 'verifying', restore: 'arming' } },
  verifying:     { persist: true, resume: 'verifying',     on: { ok: 'installing',    fail: 'reporting',     timeout: 'reporting',     loop: 'reporting' } },
  installing:    { persist: true, resume: 'installing',    on: { ok: 'verifyingSlot', fail: 'reporting',     timeout: 'reporting',     loop: 'reporting' } },
  verifyingSlot: { persist: true, resume: 'verifyingSlot', on: { ok: 'arming',        fail: 'reporting',     timeout: 'reporting',     loop: 'reporting' } },
  arming:        { persist: true, resume: 'arming',        on: { ok: 'rebooting',     fail: 'reverting',     timeout: 'reverting',     loop: 'reverting' } },
  rebooting:     { persist: true, resume: 'checking',      on: { ok: 'checking',      fail: 'reverting',     timeout: 'reverting',     loop: 'reverting' } },
  checking:      { persist: true, resume: 'checking',      on: { ok: 'committing',    fail: 'reverting',     timeout: 'reverting',     loop: 'reverting', fellBack: 'reverting', reboot: 'rebooting', rearm: 'arming' } },
  committing:    { persist: true, resume: 'committing',    on: { ok: 'reporting',     fail: 'reverting',     timeout: 'reverting',     loop: 'reverting', reboot: 'rebooting' } },
  reverting:     { persist: true, resume: 'reverting',     on: { ok: 'reporting',     fail: 'rebootingBack', timeout: 'rebootingBack', loop: 'reporting', reboot: 'rebootingBack' } },
  rebootingBack: { persist: true, resume: 'reverting',     on: { ok: 'reverting',     fail: 'reporting',     timeout: 'reporting',     loop: 'reporting' } },
  reporting:     { persist: true, resume: 'reporting',     on: { ok: 'idle',          fail: 'idle',          timeout: 'idle',          loop: 'idle' } },
};

/** Every state, in table order. */
export const states: readonly State[] = ['idle', 'verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting',
  'checking', 'committing', 'reverting', 'rebootingBack', 'reporting'];

/** The state a journal that cannot be read (unknown format, torn, checksum wrong) resumes into. */
export const corruptJournalResume: State = 'reverting';

/** True when `value` names a state (for validating a journal). */
export function isState(value: unknown): value is State {
  return states.some((s) => s === value);
}
