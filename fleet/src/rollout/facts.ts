/**
 * From status documents to the planner's facts (pure). The status document says
 * what a device runs, what it is doing and its last error, but (unless the agent
 * adds `lastUpdate`) not which release that error was about. So the controller
 * keeps, per device of the published stage, the last error it had when it was
 * targeted (`baselineError`) and whether it was seen busy since (`attempted`):
 * a device at rest, below the release, with an error that is new or that
 * followed an attempt, failed this release.
 */
import { DEFAULT_CHANNEL } from '../../../agent/src/formats/index.js';
import { statesIn } from '../../../agent/src/machine/index.js';
import type { DeviceReport } from '../status/index.js';
import { inCohort, type DeviceFact, type DeviceOutcome } from './plan.js';

/** What the controller remembers of one targeted device. */
export interface DeviceTrack {
  readonly baselineError: string | null;
  readonly attempted: boolean;
  /** Set by a resume after a halt: the status document (boot, seq) whose failure no longer counts; a newer one counts. */
  readonly excused?: { readonly bootId: string; readonly seq: number };
}

/** Device id -> track, for the devices of the published stage. */
export type Tracking = Readonly<Record<string, DeviceTrack>>;

/** What a release rollout is about. */
export interface Target {
  readonly rolloutId: string;
  readonly releaseVersion: number;
  readonly hardware: readonly string[];
  /** The release channel rolled out (absent: stable): only devices following it take part. */
  readonly channel?: string;
  /** The devices of the group it targets (fixed when it started); absent: every device of the hardware. */
  readonly members?: ReadonlySet<string>;
  /** The named canaries: in the first stage and every later one. */
  readonly canaries?: readonly string[];
}

/** Device phases of a trial under way: the device runs the new release, not yet committed. */
const TRYING: ReadonlySet<string> = new Set(statesIn('trial'));
const FAILED_OUTCOMES = new Set(['reverted', 'failed']);

/** True when a report may take part (same hardware, when the document says; the rollout's channel, `stable` for an agent without channels). */
export function eligible(r: DeviceReport, target: Target): boolean {
  if ((r.channel ?? DEFAULT_CHANNEL) !== (target.channel ?? DEFAULT_CHANNEL)) return false;
  if (target.members !== undefined && !target.members.has(r.deviceId)) return false;
  return r.hardware === undefined || target.hardware.includes(r.hardware);
}

/** Start tracking the devices that a stage of `ppm` adds, with their current error as the baseline. */
export function trackStage(tracking: Tracking, reports: Iterable<DeviceReport>, target: Target, ppm: number): Tracking {
  const next: Record<string, DeviceTrack> = { ...tracking };
  for (const r of reports) {
    if (next[r.deviceId] !== undefined || !eligible(r, target) || !inCohort(target.rolloutId, r.deviceId, ppm, target.canaries)) continue;
    next[r.deviceId] = { baselineError: r.lastError, attempted: r.phase !== 'idle' };
  }
  return next;
}

/** Mark tracked devices seen busy; returns the same object when nothing changed. */
export function noteAttempts(tracking: Tracking, reports: Iterable<DeviceReport>): Tracking {
  let next: Record<string, DeviceTrack> | undefined;
  for (const r of reports) {
    const t = tracking[r.deviceId];
    if (t === undefined || t.attempted || r.phase === 'idle') continue;
    next ??= { ...tracking };
    next[r.deviceId] = { ...t, attempted: true };
  }
  return next ?? tracking;
}

/**
 * The device's own reason for its failure, one line: `[CODE] message` from its last update (`lastError` from an
 * older agent that sends no code), or what it did when it said nothing.
 */
export function failureReason(r: DeviceReport): string {
  const last = r.lastUpdate;
  const message = last?.error ?? r.lastError ?? `${last?.outcome ?? 'failed'} without a reason`;
  const line = message.replace(/\s+/g, ' ').trim();
  const text = line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 3)}...` : line;
  return last?.errorCode === undefined ? text : `[${last.errorCode}] ${text}`;
}

/** A device's reason is cut to this many characters (the halt message names several devices). */
const MAX_REASON_CHARS = 200;

/** The planner's fact for one report. */
export function deviceFact(r: DeviceReport, track: DeviceTrack | undefined, releaseVersion: number): DeviceFact {
  const version = r.version ?? 0;
  const fact = (outcome: DeviceOutcome, failed = false): DeviceFact =>
    ({ deviceId: r.deviceId, version, outcome, ...(failed ? { outcomeVersion: releaseVersion, reason: failureReason(r) } : {}) });
  // A device on trial already runs (and reports) the new version: it has not committed until it is at rest.
  if (r.phase !== 'idle') return fact(TRYING.has(r.phase) ? 'trying' : 'installing');
  if (version >= releaseVersion) return fact('committed');
  if (track?.excused !== undefined && track.excused.bootId === r.bootId && track.excused.seq === r.seq) return fact('idle');
  const last = r.lastUpdate;
  if (last !== undefined && last.version === releaseVersion && FAILED_OUTCOMES.has(last.outcome)) return fact('failed', true);
  if (track !== undefined && r.lastError !== null && (track.attempted || r.lastError !== track.baselineError)) return fact('failed', true);
  return fact('idle');
}

/** Facts for every eligible device. */
export function deviceFacts(reports: Iterable<DeviceReport>, tracking: Tracking, target: Target): DeviceFact[] {
  const facts: DeviceFact[] = [];
  for (const r of reports) if (eligible(r, target)) facts.push(deviceFact(r, tracking[r.deviceId], target.releaseVersion));
  return facts;
}
