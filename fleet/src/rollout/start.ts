/**
 * Starting a rollout: read the release, wait for the devices' retained status
 * documents, plan the first stage, save the state file. The controller then
 * publishes it (right away with `rollout start`, or `rollout run` later).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists } from '../../../agent/src/durable/index.js';
import { DEFAULT_CHANNEL, readRelease, readSignedFile, type ReleaseMetadata } from '../../../agent/src/formats/index.js';
import { checkArtifacts } from '../publish/index.js';
import { connectFleet, documentOf, incompleteView, observeFleet, type DeviceReport, type ProtocolVersion } from '../status/index.js';
import { inService, rolloutRegistry, targetMembers } from './fleet.js';
import { RolloutRecorder } from './record.js';
import { deviceFacts, trackStage, type Target } from './facts.js';
import { policyProblems, startRollout, type RolloutPolicy } from './plan.js';
import { archiveRollout, rolloutRecorded } from './history.js';
import { liveController, loadState, saveState, stateFiles, type ControllerState } from './state.js';

/** What `rollout start` is given. */
export interface StartOptions {
  readonly stateFile: string;
  readonly releaseDir: string;
  readonly keysDir: string;
  readonly broker: string;
  readonly protocolVersion: ProtocolVersion;
  readonly policy: RolloutPolicy;
  readonly rolloutId?: string;
  readonly rolloutLifetimeMs: number;
  readonly spreadSeconds: number;
  readonly settleMs: number;
  readonly nowMs: number;
  /** The artifact server's directory: each signed stage is also written there as `rollout/<hardware>.json`. */
  readonly servedDir?: string;
  /** Base URL the devices fetch artifacts from: every artifact is checked there (as `publish` does) before anything is planned. */
  readonly artifactsUrl: string;
  /**
   * Start even when no device of the release's hardware reported (the first stage waits for devices), or when
   * devices of the roster did not report (the rollout is planned on the devices seen).
   */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /** Target only this group's devices (its members when the rollout starts). */
  readonly group?: string;
  /** The registry (`--database`); absent: the SQLite file beside the state file. */
  readonly database?: string;
}

/** The release's signed metadata (version, hardware, artifacts). */
export async function releaseFacts(releaseDir: string): Promise<ReleaseMetadata> {
  const file = join(releaseDir, 'release.json');
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new OtaError('RELEASE_MISSING', `${file} not found: make the release with ota-fleet release first`);
  return readRelease(readSignedFile(bytes, file), file);
}

/** A fresh rollout id: `r<version>-<8 hex>` (an identifier the rollout document accepts). */
export function newRolloutId(version: number): string {
  return `r${version}-${randomBytes(4).toString('hex')}`;
}

/**
 * Plan the first stage from the devices the broker knows and save the state (not yet published).
 * Refuses, writing no state, when an artifact is not served at `artifactsUrl` (ARTIFACT_UNREACHABLE),
 * when no device of the release's hardware reported (ROLLOUT_NO_DEVICES), or when devices of that hardware
 * the roster knows gave no status document (FLEET_VIEW_INCOMPLETE), the last two unless `force`.
 */
export async function createRollout(o: StartOptions): Promise<ControllerState> {
  const problems = policyProblems(o.policy);
  if (problems.length > 0) throw new OtaError('USAGE', `rollout policy: ${problems.join('; ')}`);
  if (o.rolloutId !== undefined && !/^[A-Za-z0-9._:-]{1,128}$/.test(o.rolloutId)) throw new OtaError('USAGE', `--id ${o.rolloutId}: 1-128 of A-Z a-z 0-9 . _ : -`);
  const previous = await refuseRunning(o.stateFile);
  if (o.rolloutId !== undefined && await rolloutRecorded(o.stateFile, o.rolloutId)) {
    throw new OtaError('ROLLOUT_ID_USED', `--id ${o.rolloutId}: a rollout with this id is already recorded (ota-fleet rollout show ${o.rolloutId}): choose another id, or leave --id out`);
  }
  const release = await releaseFacts(o.releaseDir);
  await checkArtifacts(release, o.artifactsUrl, o.signal);
  const rolloutId = o.rolloutId ?? newRolloutId(release.version);
  const channel = release.channels[0] ?? DEFAULT_CHANNEL; // the channel its rollouts name (release --channel)
  const target: Target = { rolloutId, releaseVersion: release.version, hardware: release.hardware, channel };
  const client = await connectFleet({ url: o.broker, protocolVersion: o.protocolVersion, clientIdPrefix: 'ota-fleet-rollout' });
  let reports;
  try {
    const rosterFile = stateFiles(o.stateFile).roster;
    const view = await observeFleet(client, { rosterFile, settleMs: o.settleMs, hardware: release.hardware });
    if (view.check.missing.length > 0 && o.force !== true) throw incompleteView(view.check, rosterFile, 'rollout start');
    reports = [...view.board.reports.values()];
  } finally {
    await client.endAsync();
  }
  const registry = await rolloutRegistry(o.stateFile, o.database, o.nowMs);
  try {
    for (const r of reports) await registry.ingest(documentOf(r, o.nowMs));
    reports = await inService(registry, reports);
    const members = await targetMembers(registry, o.group, o.policy.canaries ?? [], reports, release.hardware);
    const state = await firstStage(o, { ...target, ...(members === undefined ? {} : { members: new Set(members) }), canaries: o.policy.canaries ?? [] }, reports, previous, members);
    await new RolloutRecorder(registry).started(state, o.nowMs);
    return state;
  } finally {
    await registry.close();
  }
}

async function firstStage(o: StartOptions, target: Target, reports: readonly DeviceReport[], previous: ControllerState | undefined, members: readonly string[] | undefined): Promise<ControllerState> {
  const release = { version: target.releaseVersion, hardware: target.hardware };
  const rolloutId = target.rolloutId;
  const facts = deviceFacts(reports, {}, target);
  if (facts.length === 0 && o.force !== true) throw noAudience(release.hardware, reports, o);
  const plan = startRollout(rolloutId, release.version, o.policy, facts, o.nowMs);
  const ppm = plan.next.stagePpm ?? 0;
  const state: ControllerState = {
    format: 'ota-rollout/1', releaseDir: o.releaseDir, keysDir: o.keysDir, broker: o.broker, protocolVersion: o.protocolVersion,
    hardware: release.hardware, channel: target.channel ?? DEFAULT_CHANNEL, policy: o.policy, rolloutLifetimeMs: o.rolloutLifetimeMs, spreadSeconds: o.spreadSeconds,
    rollout: plan.next, targetPpm: ppm, published: null, tracking: trackStage({}, reports, target, ppm), tally: plan.tally,
    ...(o.servedDir === undefined ? {} : { servedDir: o.servedDir }), artifactsUrl: o.artifactsUrl, startedAtMs: o.nowMs,
    ...(o.group === undefined || members === undefined ? {} : { group: o.group, members }), ...(o.database === undefined ? {} : { database: o.database }),
  };
  if (previous !== undefined) await archiveRollout(o.stateFile, previous); // the finished rollout's record stays in the history
  await saveState(o.stateFile, state);
  return state;
}

/** ROLLOUT_NO_DEVICES: what the broker showed instead (a typo in --hardware shows as devices of another hardware). */
function noAudience(hardware: readonly string[], reports: readonly DeviceReport[], o: StartOptions): OtaError {
  const seen = new Map<string, number>();
  for (const r of reports) seen.set(r.hardware ?? '?', (seen.get(r.hardware ?? '?') ?? 0) + 1);
  const others = seen.size === 0 ? 'no device reported at all'
    : `devices seen: ${[...seen].sort().map(([hw, n]) => `${n} of hardware ${hw}`).join(', ')}`;
  return new OtaError('ROLLOUT_NO_DEVICES', `rollout start: no device of hardware ${hardware.join(', ')} reported on ${o.broker} within ${o.settleMs} ms (${others}): check the release's --hardware and that the devices are online, or pass --force to start anyway`);
}

/** The finished rollout the state file holds (to archive), if any; refuses one still running or paused, or a damaged file. */
async function refuseRunning(file: string): Promise<ControllerState | undefined> {
  // A damaged state file is refused (loadState says how to restore it), never overwritten: it is a rollout's record.
  const existing = await loadState(file).catch((err: unknown) => {
    if (err instanceof OtaError && err.code === 'ROLLOUT_STATE_MISSING') return undefined;
    throw err;
  });
  const st = existing?.rollout.status;
  if (existing !== undefined && (st === 'running' || st === 'paused')) {
    const pid = await liveController(file);
    throw new OtaError('ROLLOUT_BUSY', `${file} holds rollout ${existing.rollout.rolloutId} (${st}${pid === undefined ? '' : `, controller pid ${pid}`}): abort it first, or use another --state`);
  }
  return existing;
}
