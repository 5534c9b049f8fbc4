/**
 * The staged-rollout controller's brain: a pure function from observed facts
 * (the devices' retained status documents, the clock) and the controller's
 * saved state to the next state and the actions to carry out. Executing the
 * plan (signing and publishing rollout documents) is done elsewhere.
 */
import { PPM, cohortPpm } from '../../../agent/src/formats/index.js';

export { PPM, cohortPpm };

/** How a rollout proceeds: cumulative stage sizes and the gates between them. */
export interface RolloutPolicy {
  /** Cumulative percentages of the fleet, ascending, ending at 100 (e.g. 1, 10, 50, 100). */
  readonly stagesPercent: readonly number[];
  /** Percentage of a stage's devices that must have committed before the next stage starts. */
  readonly successThresholdPercent: number;
  /** Percentage of a stage's devices that failed above which the rollout halts. */
  readonly failureThresholdPercent: number;
  /** A stage smaller than this many devices is widened to hold them (or the whole fleet). */
  readonly minDevices: number;
  /** Time a stage must run before the next one starts. */
  readonly soakMs: number;
  /**
   * Devices named by the operator (canaries): when given, the first stage holds them alone, before the
   * hash-sampled stages of `stagesPercent`, and they stay targeted in every later stage.
   */
  readonly canaries?: readonly string[];
}

/** How many stages a policy has: the canary stage (when it names canaries), then `stagesPercent`. */
export function stageCount(p: RolloutPolicy): number {
  return p.stagesPercent.length + (hasCanaryStage(p) ? 1 : 0);
}

/** True when the policy's first stage is its canaries. */
export function hasCanaryStage(p: RolloutPolicy): boolean {
  return (p.canaries?.length ?? 0) > 0;
}

/** The nominal percentage of stage `index` (0 for the canary stage: its devices are named, not sampled). */
export function stagePercent(p: RolloutPolicy, index: number): number {
  if (!hasCanaryStage(p)) return p.stagesPercent[index] ?? 100;
  return index === 0 ? 0 : p.stagesPercent[index - 1] ?? 100;
}

/** A stage's name for people: `canaries (dev-03)` or `25 %`. */
export function stageLabel(p: RolloutPolicy, index: number): string {
  return hasCanaryStage(p) && index === 0 ? `canaries (${(p.canaries ?? []).join(', ')})` : `${stagePercent(p, index)} %`;
}

/** Where a rollout stands. `halted` is automatic (failures), `aborted` is the operator's. */
export type RolloutStatus = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';

/** The controller's saved state of one rollout. */
export interface RolloutState {
  readonly rolloutId: string;
  readonly releaseVersion: number;
  readonly stageIndex: number;
  readonly stageStartedAtMs: number;
  readonly status: RolloutStatus;
  readonly reason?: string;
  /**
   * The size the current stage was published with: the stage is tallied over
   * the devices actually targeted, even when more devices report later (which
   * can only narrow a stage widened to `minDevices`). Absent: computed.
   */
  readonly stagePpm?: number;
}

/** What a device's retained status says about this release. */
export type DeviceOutcome = 'idle' | 'installing' | 'trying' | 'committed' | 'failed';

/** One device as the fleet sees it. */
export interface DeviceFact {
  readonly deviceId: string;
  /** Version the device runs (committed). */
  readonly version: number;
  /** Outcome of its last update attempt, and which version that attempt was for. */
  readonly outcome: DeviceOutcome;
  readonly outcomeVersion?: number;
  /** Why it failed, in the device's words (`[DOWNLOAD_HTTP] ...`), when the outcome is `failed`. */
  readonly reason?: string;
}

/** A failed device of a stage and its own reason. */
export interface DeviceFailure {
  readonly deviceId: string;
  readonly reason: string;
}

/** Counts of one stage's devices. */
export interface StageTally {
  readonly inStage: number;
  readonly committed: number;
  readonly failed: number;
  readonly pending: number;
  /** The failed devices, by id, with their reasons (at most MAX_FAILURES_KEPT). Absent in older state files. */
  readonly failures?: readonly DeviceFailure[];
}

/** Failed devices a tally keeps by name (the count is exact beyond). */
export const MAX_FAILURES_KEPT = 100;
/** Failed devices a halt reason names (the others are counted). */
const MAX_FAILURES_NAMED = 5;

/** An action the executor carries out. */
export type RolloutAction =
  | { kind: 'publish-stage'; stageIndex: number; ppm: number }
  | { kind: 'publish-halt'; reason: string };

/** The outcome of planning: the next state, what to do, and the current stage's tally. */
export interface RolloutPlan {
  readonly next: RolloutState;
  readonly actions: readonly RolloutAction[];
  readonly tally: StageTally;
}

/** True when the device belongs to the stages up to `ppm`, or is one of the named `canaries` (in every stage). */
export function inCohort(rolloutId: string, deviceId: string, ppm: number, canaries: readonly string[] = []): boolean {
  return canaries.includes(deviceId) || cohortPpm(rolloutId, deviceId) < ppm;
}

/** A policy percentage as parts per million. */
export function percentToPpm(percent: number): number {
  return Math.round(percent * (PPM / 100));
}

/** Count the devices of a stage and how their attempts at `version` went. */
export function tallyStage(rolloutId: string, version: number, ppm: number, devices: readonly DeviceFact[], canaries: readonly string[] = []): StageTally {
  let inStage = 0, committed = 0;
  const failures: DeviceFailure[] = [];
  for (const d of devices) {
    if (!inCohort(rolloutId, d.deviceId, ppm, canaries)) continue;
    inStage++;
    if (d.version >= version && d.outcome !== 'installing' && d.outcome !== 'trying') committed++;
    else if (d.outcome === 'failed' && d.outcomeVersion === version) failures.push({ deviceId: d.deviceId, reason: d.reason ?? 'failed' });
  }
  failures.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  const failed = failures.length;
  return { inStage, committed, failed, pending: inStage - committed - failed, ...(failed === 0 ? {} : { failures: failures.slice(0, MAX_FAILURES_KEPT) }) };
}

/** The failed devices of a tally in one line: `dev-07 [DOWNLOAD_HTTP] 404 on ...; dev-09 ...; and 3 more`. */
export function describeFailures(tally: StageTally): string {
  const named = (tally.failures ?? []).slice(0, MAX_FAILURES_NAMED);
  const more = tally.failed - named.length;
  return [...named.map((f) => `${f.deviceId} ${f.reason}`), ...(more > 0 ? [`and ${more} more (rollout status --json lists them)`] : [])].join('; ');
}

/** Validate a policy; returns the list of problems (empty when valid). */
export function policyProblems(p: RolloutPolicy): string[] {
  const problems: string[] = [];
  const s = p.stagesPercent;
  if (s.length === 0) problems.push('at least one stage is needed');
  if (p.canaries !== undefined && new Set(p.canaries).size !== p.canaries.length) problems.push('a canary is named twice');
  if (s.some((x, i) => !(x > 0 && x <= 100) || (i > 0 && x <= (s[i - 1] ?? 0)))) problems.push('stages must be ascending percentages in (0, 100]');
  if (s.length > 0 && s[s.length - 1] !== 100) problems.push('the last stage must be 100');
  for (const [name, v] of [['success threshold', p.successThresholdPercent], ['failure threshold', p.failureThresholdPercent]] as const) {
    if (!(v >= 0 && v <= 100)) problems.push(`${name} must be a percentage`);
  }
  if (!Number.isSafeInteger(p.minDevices) || p.minDevices < 0) problems.push('min devices must be a non-negative integer');
  if (!Number.isSafeInteger(p.soakMs) || p.soakMs < 0) problems.push('soak must be a non-negative duration');
  return problems;
}

/**
 * The size a stage is published with, in ppm: its nominal size, widened when it
 * would hold fewer than `minDevices` of the known fleet (a 1 % stage of a
 * 20-device fleet would otherwise hold nobody and prove nothing).
 */
export function stagePpm(state: RolloutState, policy: RolloutPolicy, devices: readonly DeviceFact[], stageIndex = state.stageIndex): number {
  if (hasCanaryStage(policy) && stageIndex === 0) return 0; // the canaries alone: nobody sampled
  const nominal = percentToPpm(stagePercent(policy, stageIndex));
  const wanted = Math.min(policy.minDevices, devices.length);
  if (wanted === 0) return nominal;
  const places = devices.map((d) => cohortPpm(state.rolloutId, d.deviceId)).sort((a, b) => a - b);
  return Math.min(PPM, Math.max(nominal, (places[wanted - 1] ?? 0) + 1));
}

/** The first action of a rollout: publish its first stage. */
export function startRollout(rolloutId: string, releaseVersion: number, policy: RolloutPolicy, devices: readonly DeviceFact[], nowMs: number): RolloutPlan {
  const initial: RolloutState = { rolloutId, releaseVersion, stageIndex: 0, stageStartedAtMs: nowMs, status: 'running' };
  const ppm = stagePpm(initial, policy, devices);
  return { next: { ...initial, stagePpm: ppm }, actions: [{ kind: 'publish-stage', stageIndex: 0, ppm }], tally: tallyStage(rolloutId, releaseVersion, ppm, devices, policy.canaries) };
}

/**
 * Plan the next step of a rollout from what the devices report. A stage never
 * advances (nor does the rollout complete) while no device at all reports.
 */
export function planRollout(state: RolloutState, policy: RolloutPolicy, devices: readonly DeviceFact[], nowMs: number): RolloutPlan {
  const ppm = state.stagePpm ?? stagePpm(state, policy, devices);
  const tally = tallyStage(state.rolloutId, state.releaseVersion, ppm, devices, policy.canaries);
  if (state.status !== 'running') return { next: state, actions: [], tally };
  const failedPercent = tally.inStage === 0 ? 0 : (tally.failed / tally.inStage) * 100;
  if (failedPercent > policy.failureThresholdPercent) {
    const what = hasCanaryStage(policy) && state.stageIndex === 0 ? stageLabel(policy, 0) : `${ppm / (PPM / 100)} %`;
    const reason = `stage ${state.stageIndex + 1} (${what}): ${tally.failed} of ${tally.inStage} devices failed (${failedPercent.toFixed(1)} % > ${policy.failureThresholdPercent} %): ${describeFailures(tally)}`;
    return { next: { ...state, status: 'halted', reason }, actions: [{ kind: 'publish-halt', reason }], tally };
  }
  // No device of the release's hardware reports: a gate passed by nobody proves nothing, so wait for devices.
  // Nor does a canary stage whose canaries have not reported: the canaries are the whole point of it.
  const canariesUnseen = hasCanaryStage(policy) && state.stageIndex === 0 && tally.inStage === 0;
  if (devices.length === 0 || canariesUnseen || !stageDone(state, policy, tally, nowMs)) return { next: state, actions: [], tally };
  const nextIndex = state.stageIndex + 1;
  if (nextIndex >= stageCount(policy)) return { next: { ...state, status: 'completed' }, actions: [], tally };
  const nextPpm = stagePpm(state, policy, devices, nextIndex);
  return {
    next: { ...state, stageIndex: nextIndex, stageStartedAtMs: nowMs, stagePpm: nextPpm },
    actions: [{ kind: 'publish-stage', stageIndex: nextIndex, ppm: nextPpm }],
    tally,
  };
}

function stageDone(state: RolloutState, policy: RolloutPolicy, tally: StageTally, nowMs: number): boolean {
  const successPercent = tally.inStage === 0 ? 100 : (tally.committed / tally.inStage) * 100;
  const soaked = nowMs - state.stageStartedAtMs >= policy.soakMs;
  return soaked && successPercent >= policy.successThresholdPercent;
}
