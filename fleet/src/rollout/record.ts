/**
 * The deployment history in the registry: each rollout's record, its events (derived from how the saved
 * state changed: start, advance, pause, resume, halt and why, abort, completion) and each targeted
 * device's latest outcome. Written after the state file is saved; a write the registry already holds
 * changes nothing, so a restarted controller records nothing twice.
 */
import type { Registry, RolloutEvent, RolloutOutcome } from '../registry/index.js';
import type { DeviceReport } from '../status/index.js';
import { deviceFact } from './facts.js';
import { stageCount, stageLabel } from './plan.js';
import type { ControllerState } from './state.js';

/** The events between two saved states of one rollout (pure). */
export function eventsBetween(prev: ControllerState, next: ControllerState, atMs: number): RolloutEvent[] {
  const r = next.rollout;
  const ev = (kind: RolloutEvent['kind'], detail: string): RolloutEvent => ({ rolloutId: r.rolloutId, atMs, kind, stageIndex: r.stageIndex, detail });
  const out: RolloutEvent[] = [];
  if (r.stageIndex > prev.rollout.stageIndex) {
    const t = prev.tally;
    out.push(ev('advance', `stage ${r.stageIndex + 1}/${stageCount(next.policy)} (${stageLabel(next.policy, r.stageIndex)}) after stage ${prev.rollout.stageIndex + 1}: ${t.committed} of ${t.inStage} committed`));
  }
  if (r.status !== prev.rollout.status) {
    const reason = r.reason ?? '';
    if (r.status === 'paused') out.push(ev('pause', 'paused by the operator'));
    else if (r.status === 'running') out.push(ev('resume', prev.rollout.status === 'halted' ? `resumed after a halt (${prev.rollout.reason ?? '?'})` : 'resumed by the operator'));
    else if (r.status === 'halted') out.push(ev('halt', reason));
    else if (r.status === 'aborted') out.push(ev('abort', reason));
    else out.push(ev('complete', `${next.tally.committed} of ${next.tally.inStage} devices of the last stage committed`));
  }
  return out;
}

/** Writes one rollout's history as its controller steps. */
export class RolloutRecorder {
  private readonly written = new Map<string, string>();
  private readonly firstStage = new Map<string, number>();

  constructor(private readonly registry: Registry) {}

  /** The rollout's record as the state says (created or brought up to date). */
  async record(s: ControllerState, nowMs: number): Promise<void> {
    const r = s.rollout;
    await this.registry.putRollout({
      rolloutId: r.rolloutId, releaseVersion: r.releaseVersion, hardware: s.hardware, group: s.group ?? null, canaries: s.policy.canaries ?? [],
      stagesPercent: s.policy.stagesPercent, status: r.status, reason: r.reason ?? null, startedMs: s.startedAtMs ?? r.stageStartedAtMs, updatedMs: nowMs,
    });
  }

  /** A new rollout: its record and its start event. */
  async started(s: ControllerState, nowMs: number): Promise<void> {
    await this.record(s, nowMs);
    const who = [s.group === undefined ? 'every device of the hardware' : `group ${s.group} (${s.members?.length ?? 0} devices)`,
      ...(s.policy.canaries === undefined ? [] : [`canaries ${s.policy.canaries.join(', ')} first`])].join(', ');
    await this.registry.addRolloutEvent({ rolloutId: s.rollout.rolloutId, atMs: nowMs, kind: 'start', stageIndex: 0, detail: `release ${s.rollout.releaseVersion} to ${who}; stage 1 ${stageLabel(s.policy, 0)}` });
  }

  /** After a step: the events, the record, and the outcomes of the tracked devices that changed. */
  async stepped(prev: ControllerState, next: ControllerState, reports: readonly DeviceReport[], nowMs: number): Promise<void> {
    const events = eventsBetween(prev, next, nowMs);
    for (const e of events) await this.registry.addRolloutEvent(e);
    if (events.length > 0) await this.record(next, nowMs);
    for (const o of this.outcomes(next, reports, nowMs)) {
      const key = `${o.outcome}|${o.reason ?? ''}`;
      if (this.written.get(o.deviceId) === key) continue;
      await this.registry.putRolloutOutcome(o);
      this.written.set(o.deviceId, key);
    }
  }

  private outcomes(s: ControllerState, reports: readonly DeviceReport[], nowMs: number): RolloutOutcome[] {
    const out: RolloutOutcome[] = [];
    for (const r of reports) {
      const track = s.tracking[r.deviceId];
      if (track === undefined) continue;
      const stage = this.firstStage.get(r.deviceId) ?? s.rollout.stageIndex;
      this.firstStage.set(r.deviceId, stage);
      const f = deviceFact(r, track, s.rollout.releaseVersion);
      out.push({ rolloutId: s.rollout.rolloutId, deviceId: r.deviceId, stageIndex: stage, outcome: f.outcome === 'idle' ? 'targeted' : f.outcome, reason: f.reason ?? null, atMs: nowMs });
    }
    return out;
  }
}
