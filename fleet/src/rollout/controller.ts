/**
 * The rollout controller: each step takes the operator's pending request, plans
 * with the pure planner over the devices' status documents, saves the new state,
 * then makes the wire match it (signs a rollout document for the staged cohort
 * and publishes it retained on every hardware's rollout topic, and, with a
 * served directory, as `rollout/<hardware>.json` there). Saving before
 * publishing, and publishing whatever the saved state says is missing, is what
 * lets the controller be killed at any point and restarted.
 */
import type { MqttClient } from 'mqtt';
import { rolloutTopic } from '../../../agent/src/transport/index.js';
import { DEFAULT_CHANNEL } from '../../../agent/src/formats/index.js';
import { readFileIfExists } from '../../../agent/src/durable/index.js';
import { monotonicClock, sleep } from '../../../agent/src/time/index.js';
import { checkArtifacts, noticeChannel, serveRolloutDocument } from '../publish/index.js';
import { writeRollout } from '../release/index.js';
import {
  checkView, connectFleet, describeCheck, feedRegistry, incompleteView, noteRoster, observeFleet, type DeviceReport, type RegistryFeed, type ViewCheck,
} from '../status/index.js';
import { inService, rolloutRegistry } from './fleet.js';
import { RolloutRecorder } from './record.js';
import { deviceFacts, noteAttempts, trackStage, type Target } from './facts.js';
import { planRollout, stageCount, stageLabel, type RolloutAction } from './plan.js';
import { audienceOnWire, describeAudience, wireAudience, wireKey } from './audience.js';
import { applyControl } from './control.js';
import { releaseFacts } from './start.js';
import { claimLock, loadState, saveState, stateFiles, takeControl, type ControllerState } from './state.js';

/** What a step needs from the outside world. */
export interface StepPorts {
  /** Sign a rollout document for `ppm`; returns the notice bytes, the rollout version and its expiry (capped at the release's). */
  /** `channel`: the signed rollout's release channel (absent: stable). */
  sign(state: ControllerState, ppm: number, nowMs: number): Promise<{ version: number; noticeBytes: Uint8Array; expiresMs: number; channel?: string }>;
  /** Publish retained, QoS 1. */
  publishRetained(topic: string, bytes: Uint8Array): Promise<void>;
  /** Write the document under `dir`, where the artifact server serves it to the devices' resync. */
  serveDocument(dir: string, hardware: readonly string[], bytes: Uint8Array): Promise<void>;
  /** Check the release's artifacts are served (as `publish` does); throws ARTIFACT_UNREACHABLE. Runs before a stage widens. */
  checkArtifacts(state: ControllerState): Promise<void>;
  nowMs(): number;
  log(line: string): void;
}

/** The statuses a rollout does not leave. */
export function isFinal(s: ControllerState): boolean {
  const st = s.rollout.status;
  return (st === 'completed' || st === 'halted' || st === 'aborted') && audienceOnWire(s);
}

/** The target of a state (for the facts). */
export function targetOf(s: ControllerState): Target {
  return {
    rolloutId: s.rollout.rolloutId, releaseVersion: s.rollout.releaseVersion, hardware: s.hardware, ...(s.channel === undefined ? {} : { channel: s.channel }),
    ...(s.members === undefined ? {} : { members: new Set(s.members) }), ...(s.policy.canaries === undefined ? {} : { canaries: s.policy.canaries }),
  };
}

/** Plan from the reports and fold the actions into the state (pure). */
export function planStep(s: ControllerState, reports: readonly DeviceReport[], nowMs: number): { next: ControllerState; actions: readonly RolloutAction[] } {
  const target = targetOf(s);
  let tracking = noteAttempts(s.tracking, reports);
  const plan = planRollout(s.rollout, s.policy, deviceFacts(reports, tracking, target), nowMs);
  let targetPpm = s.targetPpm;
  for (const a of plan.actions) {
    if (a.kind === 'publish-stage') {
      tracking = trackStage(tracking, reports, target, a.ppm);
      targetPpm = a.ppm;
    } else {
      targetPpm = 0;
    }
  }
  return { next: { ...s, rollout: plan.next, tally: plan.tally, tracking, targetPpm }, actions: plan.actions };
}

/**
 * One step: request, plan, save, publish. Returns the saved state. With `plan` false (the view of the
 * fleet is incomplete) the operator's request still applies and the wire is kept in step, but nothing
 * is planned: no stage advances, completes or halts on the devices that happened to be seen.
 */
export async function step(file: string, s: ControllerState, reports: readonly DeviceReport[], ports: StepPorts, plan = true): Promise<ControllerState> {
  const nowMs = ports.nowMs();
  const control = await takeControl(file);
  let next = control === undefined ? s : applyControl(s, control, reports);
  if (next !== s) ports.log(`rollout ${s.rollout.rolloutId}: ${control ?? ''} -> ${next.rollout.status}`);
  if (plan) {
    const planned = planStep(next, reports, nowMs);
    for (const a of planned.actions) ports.log(describeAction(planned.next, a));
    next = planned.next;
  }
  if (JSON.stringify(next) !== JSON.stringify(s)) await saveState(file, next);
  return reconcile(file, next, ports);
}

function describeAction(s: ControllerState, a: RolloutAction): string {
  const id = s.rollout.rolloutId;
  if (a.kind === 'publish-halt') return `rollout ${id}: halted: ${a.reason}`;
  return `rollout ${id}: stage ${a.stageIndex + 1}/${stageCount(s.policy)} (${stageLabel(s.policy, a.stageIndex)}, ${a.ppm} ppm)`;
}

/** Make the retained rollout document match the state: sign and publish when the ppm differs or half its lifetime passed. */
export async function reconcile(file: string, s: ControllerState, ports: StepPorts): Promise<ControllerState> {
  const nowMs = ports.nowMs();
  const p = s.published;
  if (p !== null && audienceOnWire(s) && nowMs - p.signedAtMs < s.rolloutLifetimeMs / 2) return s;
  // A stage that reaches new devices first makes sure they can fetch the release; a halt or a re-signature need not.
  if (s.targetPpm > (p?.ppm ?? 0)) await ports.checkArtifacts(s);
  const signed = await ports.sign(s, s.targetPpm, nowMs);
  await publishEverywhere(s, signed.noticeBytes, signed.channel ?? DEFAULT_CHANNEL, ports);
  const audience = wireKey(wireAudience(s));
  const next: ControllerState = { ...s, published: { ppm: s.targetPpm, rolloutVersion: signed.version, signedAtMs: nowMs, expiresAtMs: signed.expiresMs, audience } };
  await saveState(file, next);
  ports.log(`rollout ${s.rollout.rolloutId}: published rollout document ${signed.version} (${describeAudience(s)})`);
  return next;
}

async function publishEverywhere(s: ControllerState, bytes: Uint8Array, channel: string, ports: StepPorts): Promise<void> {
  if (s.servedDir !== undefined) await ports.serveDocument(s.servedDir, s.hardware, bytes);
  for (const hw of s.hardware) await ports.publishRetained(rolloutTopic(hw, channel), bytes);
}

/** The real ports: sign with the key directory, publish on `client`. */
export function realPorts(file: string, client: MqttClient, log: (line: string) => void, nowMs: () => number = Date.now): StepPorts {
  return {
    nowMs, log,
    sign: (s, _ppm, now) => {
      const a = wireAudience(s);
      return writeRollout(s.keysDir, s.releaseDir, stateFiles(file).notice, {
        devices: a.devices, cohorts: [], stage: { rollout: s.rollout.rolloutId, ppm: a.stagePpm }, expiresMs: now + s.rolloutLifetimeMs, spreadSeconds: s.spreadSeconds, nowMs: now,
      });
    },
    publishRetained: async (topic, bytes) => { await client.publishAsync(topic, Buffer.from(bytes), { qos: 1, retain: true }); },
    serveDocument: async (dir, hardware, bytes) => { await serveRolloutDocument(dir, hardware, bytes, noticeChannel(bytes)); },
    checkArtifacts: async (s) => { if (s.artifactsUrl !== undefined) await checkArtifacts(await releaseFacts(s.releaseDir), s.artifactsUrl); },
  };
}

/** Log the hold once when it starts or changes, and once when it ends; returns the line in force. */
function logHold(log: (line: string) => void, s: ControllerState, check: ViewCheck, line: string, held: string): string {
  if (line !== held) log(line === '' ? `rollout ${s.rollout.rolloutId}: view complete again (${describeCheck(check)})` : `rollout ${s.rollout.rolloutId}: ${line}`);
  return line;
}

/** Options of a running controller. */
export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Time between steps. */
  readonly tickMs: number;
  /** Quiet time that ends the retained status documents at start. */
  readonly settleMs: number;
  readonly log: (line: string) => void;
  readonly nowMs?: () => number;
  /** Stop after one step (pause/resume/abort with no controller running). */
  readonly once?: boolean;
  /** Plan even while devices of the roster gave no status document (otherwise the controller holds until they do). */
  readonly force?: boolean;
}

/**
 * Run the controller on `file` until the rollout is final (completed, halted or
 * aborted, and published) or `signal` fires. On start it republishes the last
 * signed document, since a broker without persistence loses retained messages.
 * While devices the roster knows (of the rollout's hardware) gave no status
 * document, it holds (plans nothing) unless `force`, saying so once.
 */
export async function runController(file: string, o: RunOptions): Promise<ControllerState> {
  const release = await claimLock(file);
  try {
    let s = await loadState(file);
    const nowMs = o.nowMs ?? Date.now;
    const registry = await rolloutRegistry(file, s.database, nowMs());
    const recorder = new RolloutRecorder(registry);
    const client = await connectFleet({ url: s.broker, protocolVersion: s.protocolVersion, clientIdPrefix: 'ota-fleet-rollout' }).catch(async (err: unknown) => {
      await registry.close();
      throw err;
    });
    let feed: RegistryFeed | undefined;
    try {
      const rosterFile = stateFiles(file).roster;
      const view = await observeFleet(client, { rosterFile, settleMs: o.settleMs, hardware: s.hardware });
      const board = view.board;
      feed = feedRegistry(board, registry, nowMs, o.log);
      await recorder.record(s, nowMs());
      let roster = view.roster;
      const ports = realPorts(file, client, o.log, o.nowMs);
      const last = await readFileIfExists(stateFiles(file).notice);
      if (s.published !== null && last !== undefined) await publishEverywhere(s, last, noticeChannel(last), ports);
      let held = '';
      for (;;) {
        roster = await noteRoster(rosterFile, roster, board);
        const check = checkView(roster, { has: (id) => board.reports.has(id) || board.problems.has(id) }, s.hardware);
        const complete = check.missing.length === 0 || o.force === true;
        held = logHold(o.log, s, check, complete ? '' : incompleteView(check, rosterFile, 'holding').message, held);
        await feed.flush();
        const reports = await inService(registry, board.reports.values());
        const prev = s;
        s = await step(file, s, reports, ports, complete);
        await recorder.stepped(prev, s, reports, nowMs());
        if (isFinal(s) || o.once === true || o.signal?.aborted === true) return s;
        await sleep(monotonicClock, o.tickMs, o.signal); // an abort ends the wait; the check above ends the loop
      }
    } finally {
      await feed?.stop();
      await client.endAsync();
      await registry.close();
    }
  } finally {
    await release();
  }
}
