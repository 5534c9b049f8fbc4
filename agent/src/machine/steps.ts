/**
 * The handlers: one per state, each does its work through the ports and returns
 * an outcome event plus the updated job. Where the event leads is the table's
 * business (table.ts), never the handler's.
 */
import { OtaError } from '../errors/index.js';
import { opt } from './journal.js';
import type { Job } from './journal.js';
import type { Checkpoint, MachinePorts } from './ports.js';
import { finalOutcome } from './table.js';
import type { Event, EventOf, State } from './table.js';

/** What a handler gets besides the job. */
export interface StepContext {
  readonly ports: MachinePorts;
  /** Fires at the state's deadline (or when the runner is stopped). */
  readonly signal: AbortSignal;
  readonly checkpoint: Checkpoint;
}

/** What a handler returns: one of the events its row leads somewhere. */
export interface StepResult<E extends Event = Event> {
  readonly event: E;
  readonly job: Job;
}

/**
 * The handler of state `S`. It may return only the events `S`'s row lists: an event the table
 * does not route is a type error here, not a failure at run time. Throwing is the `fail` event
 * (the runner records the error).
 */
export type Step<S extends State = State> = (job: Job, ctx: StepContext) => Promise<StepResult<EventOf<S>>>;

const ok = (job: Job): StepResult<'ok'> => ({ event: 'ok', job });
const fellBack = (job: Job, error: string): StepResult<'fellBack'> => ({ event: 'fellBack', job: { ...job, error, errorCode: 'TRIAL_BOOT_FAILED' } });

/** The handler of every state but `idle` (which does nothing: the runner stops there). */
export const steps: { readonly [S in Exclude<State, 'idle'>]: Step<S> } = {
  verifying: async (job, { ports, signal }) => {
    const verified = await ports.verify(Buffer.from(job.noticeBase64, 'base64'), signal);
    const { booted, inactive } = await ports.slots();
    return ok({ ...job, version: verified.version, sequence: verified.sequence, ...opt('sequenceEpoch', verified.epoch), ...opt('channel', verified.channel), target: inactive, previous: booted });
  },
  installing: async (job, { ports, signal, checkpoint }) => {
    await ports.install(job, signal, checkpoint);
    return ok(job);
  },
  verifyingSlot: async (job, { ports, signal }) => {
    await ports.verifySlot(job, signal);
    return ok(job);
  },
  arming: async (job, { ports }) => {
    await ports.arm(job);
    // The boot that armed the trial and the refills so far: `checking` tells from them whether the trial ran.
    const at = await ports.bootCounters();
    return ok({ ...job, armedExhausted: at.exhausted, ...opt('armedBoot', at.boot ?? undefined) });
  },
  rebooting: async (job, { ports }) => {
    await ports.reboot(job);
    return ok(job);
  },
  checking: async (job, { ports, signal }) => {
    const { booted, primary } = await ports.slots();
    const now = await ports.bootCounters();
    const target = job.target ?? '?';
    // Every slot ran out of tries since arming, the trial slot's included: the bootloader refilled them
    // (and may boot the trial slot again, first in its order), but the trial failed its boots.
    if (job.armedExhausted !== undefined && now.exhausted > job.armedExhausted) {
      return fellBack(job, `trial boot of slot ${target} used all its tries without reaching a verdict (the bootloader ran out of slots and refilled them; it booted ${booted})`);
    }
    if (booted !== job.target) {
      // Still the boot that armed the trial (the agent restarted, the device did not): the trial has not begun.
      // A journal from before boots were recorded has no armedBoot: it keeps the old reading.
      if (primary === job.target && (job.armedBoot === undefined || now.boot === job.armedBoot)) return { event: 'reboot', job };
      if (primary !== job.target && job.target !== undefined && await ports.envLost(job.target)) return { event: 'rearm', job };
      return fellBack(job, `trial boot of slot ${target} did not reach the agent: the bootloader booted ${booted}`);
    }
    if (await ports.health(job, signal)) return ok(job);
    return { event: 'fail', job: { ...job, error: `required health check failed on slot ${booted}`, errorCode: 'HEALTH_REQUIRED_FAILED' } };
  },
  committing: async (job, { ports }) => {
    await ports.commit(job);
    // The trial passed, then a power cut lost the env before the commit stuck (U-Boot's own save is torn
    // and it falls back to its default env, which boots the old slot): the commit made the new slot
    // primary again; reboot into it rather than report an install the device does not run.
    const { booted } = await ports.slots();
    return { event: booted === job.target ? 'ok' : 'reboot', job };
  },
  reverting: async (job, { ports }) => {
    await ports.revert(job);
    // Still running a slot the bootloader will no longer boot: reboot into the primary one.
    const { booted, primary } = await ports.slots();
    return { event: booted === primary ? 'ok' : 'reboot', job };
  },
  rebootingBack: async (job, { ports }) => {
    await ports.reboot(job);
    return ok(job);
  },
  reporting: async (job, { ports }) => {
    const outcome = finalOutcome(job.outcome);
    await ports.report({ outcome, version: job.version, sequence: job.sequence, error: job.error });
    return ok({ ...job, outcome });
  },
};

/** The error recorded for a runner-made event. */
export function runnerError(state: State, event: 'timeout' | 'loop', limit: number): OtaError {
  return event === 'timeout'
    ? new OtaError('STEP_TIMEOUT', `update step ${state} passed its deadline of ${limit} ms: it is treated as failed`)
    : new OtaError('REBOOT_LOOP', `update step ${state} started ${limit} times without progress: giving up on it`);
}
