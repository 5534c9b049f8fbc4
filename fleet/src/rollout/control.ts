/**
 * What an operator may do to a rollout, by status (pure). After a halt the rollout is not over:
 * - `resume` after a fix: the halted stage is published again (its artifacts checked first) and the
 *   devices that failed in it are given another try: a failure they reported before the resume counts
 *   again only once they publish a new status document (they retried, reconnected or rebooted);
 * - `abort`: final; the rollout targets nobody (the halt document already did), devices on the new
 *   release stay there, the others are not targeted any more;
 * - or a new rollout of a fixed release (`rollout start`; the old record goes to the history).
 * Every request that would change nothing is refused with a typed error saying why.
 */
import { OtaError } from '../../../agent/src/errors/index.js';
import type { DeviceReport } from '../status/index.js';
import type { Tracking } from './facts.js';
import type { RolloutStatus } from './plan.js';
import type { ControlAction, ControllerState } from './state.js';

/** The statuses each request applies to. */
const APPLIES: Readonly<Record<ControlAction, readonly RolloutStatus[]>> = {
  pause: ['running'],
  resume: ['paused', 'halted'],
  abort: ['running', 'paused', 'halted'],
};

/** What to do instead, by status (for the refusal). */
const INSTEAD: Readonly<Record<RolloutStatus, string>> = {
  running: 'pause or abort it',
  paused: 'resume or abort it',
  halted: 'fix the cause and resume it, abort it, or start a new rollout of a fixed release',
  aborted: 'it is over: start a new rollout (ota-fleet rollout start)',
  completed: 'it is over: start a new rollout of the next release',
};

/** ROLLOUT_CONTROL_REFUSED when `action` would change nothing for `s`'s status; undefined when it applies. */
export function controlRefusal(s: ControllerState, action: ControlAction): OtaError | undefined {
  const st = s.rollout.status;
  if (APPLIES[action].includes(st)) return undefined;
  return new OtaError('ROLLOUT_CONTROL_REFUSED',
    `rollout ${s.rollout.rolloutId} is ${st}${s.rollout.reason === undefined ? '' : ` (${s.rollout.reason})`}: nothing to ${action}; ${INSTEAD[st]}`);
}

/** Apply an operator's request (pure); a request that does not apply leaves `s` as it is (the CLI refused it before). */
export function applyControl(s: ControllerState, action: ControlAction, reports: readonly DeviceReport[] = []): ControllerState {
  if (controlRefusal(s, action) !== undefined) return s;
  const r = s.rollout;
  const { reason: _reason, ...rest } = r;
  if (action === 'pause') return { ...s, rollout: { ...r, status: 'paused' } };
  if (action === 'abort') return { ...s, rollout: { ...r, status: 'aborted', reason: `aborted by the operator${r.status === 'halted' ? ` after a halt (${r.reason ?? '?'})` : ''}` }, targetPpm: 0 };
  if (r.status === 'paused') return { ...s, rollout: { ...rest, status: 'running' } };
  // Resume after a halt: the halted stage again, its failures excused until the device speaks again.
  return {
    ...s, rollout: { ...rest, status: 'running' }, targetPpm: r.stagePpm ?? 0, tracking: excuse(s.tracking, reports),
    earlierHalts: [...(s.earlierHalts ?? []), r.reason ?? 'halted'],
  };
}

function excuse(tracking: Tracking, reports: readonly DeviceReport[]): Tracking {
  const next: Record<string, Tracking[string]> = { ...tracking };
  for (const r of reports) {
    const t = next[r.deviceId];
    if (t !== undefined) next[r.deviceId] = { baselineError: r.lastError, attempted: false, excused: { bootId: r.bootId, seq: r.seq } };
  }
  return next;
}
