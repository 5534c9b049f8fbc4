/**
 * The controller's local state file (written atomically: temp, fsync, rename,
 * fsync dir) and its two companions: `FILE.control`, where `pause`, `resume` and
 * `abort` leave a request for the controller, and `FILE.lock`, the pid of the
 * controller running on it. Together with the retained signed rollout documents
 * this is all a restarted controller needs.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import { isChannelName } from '../../../agent/src/formats/index.js';
import { ROSTER_FILE, type ProtocolVersion } from '../status/index.js';
import type { DeviceTrack, Tracking } from './facts.js';
import type { RolloutPolicy, RolloutState, RolloutStatus, StageTally } from './plan.js';

/** Everything a controller needs to carry on after a restart. */
export interface ControllerState {
  readonly format: 'ota-rollout/1';
  readonly releaseDir: string;
  readonly keysDir: string;
  readonly broker: string;
  readonly protocolVersion: ProtocolVersion;
  readonly hardware: readonly string[];
  /** The release channel rolled out (absent: stable, as in older state files). */
  readonly channel?: string;
  readonly policy: RolloutPolicy;
  /** Lifetime of each signed rollout document. */
  readonly rolloutLifetimeMs: number;
  readonly spreadSeconds: number;
  readonly rollout: RolloutState;
  /** The staged cohort that should be on the wire (0 after a halt or abort). */
  readonly targetPpm: number;
  /** What was last signed and published retained, when it was signed (re-signed at half its lifetime) and when it expires (absent in older state files). */
  readonly published: {
    readonly ppm: number; readonly rolloutVersion: number; readonly signedAtMs: number; readonly expiresAtMs?: number;
    /** Which devices the document named (audience.ts: wireKey); absent in older state files, where the ppm says it. */
    readonly audience?: string;
  } | null;
  readonly tracking: Tracking;
  readonly tally: StageTally;
  /** The artifact server's directory: each published document is also written there as `rollout/<hardware>.json` (the devices' HTTPS resync). */
  readonly servedDir?: string;
  /** Where the devices fetch the artifacts: checked again before each stage widens (absent in older state files: no check). */
  readonly artifactsUrl?: string;
  /** When the rollout started (absent in older state files). */
  readonly startedAtMs?: number;
  /** The reasons of the halts a resume ended, oldest first (the record keeps why it stopped before). */
  readonly earlierHalts?: readonly string[];
  /** The group the rollout targets, and its members when it started (only they are ever targeted). */
  readonly group?: string;
  readonly members?: readonly string[];
  /** The registry (`--database` as given); absent: the SQLite file beside the state file. */
  readonly database?: string;
}

/** An operator's request, left in FILE.control. */
export type ControlAction = 'pause' | 'resume' | 'abort';

/** The files of a state file; the roster (the devices ever seen, status/roster.ts) lies in the same directory. */
export function stateFiles(file: string): { state: string; control: string; lock: string; notice: string; roster: string } {
  return { state: file, control: `${file}.control`, lock: `${file}.lock`, notice: `${file}.notice.json`, roster: join(dirname(file), ROSTER_FILE) };
}

/** The bytes of a state file. */
export function stateBytes(s: ControllerState): Buffer {
  return Buffer.from(`${JSON.stringify(s, null, 1)}\n`);
}

/** Write the state (atomically). */
export async function saveState(file: string, s: ControllerState): Promise<void> {
  await writeFileAtomic(file, stateBytes(s));
}

/** Read the state; throws ROLLOUT_STATE_MISSING / ROLLOUT_STATE_DAMAGED. */
export async function loadState(file: string): Promise<ControllerState> {
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new OtaError('ROLLOUT_STATE_MISSING', `${file} not found: start a rollout with ota-fleet rollout start, or pass --state`);
  try {
    return readState(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (err) {
    throw new OtaError('ROLLOUT_STATE_DAMAGED', `${file}: ${err instanceof Error ? err.message : String(err)}: restore it from a backup (the retained rollout document shows the last stage)`, { cause: err });
  }
}

/** Leave a request for the controller. */
export async function requestControl(file: string, action: ControlAction): Promise<void> {
  await writeFileAtomic(stateFiles(file).control, Buffer.from(`${JSON.stringify({ action })}\n`));
}

/** Take (read and remove) the pending request, if any. */
export async function takeControl(file: string): Promise<ControlAction | undefined> {
  const path = stateFiles(file).control;
  const bytes = await readFileIfExists(path);
  if (bytes === undefined) return undefined;
  await fsp.rm(path, { force: true });
  const v: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const action = isObj(v) ? v['action'] : undefined;
  return action === 'pause' || action === 'resume' || action === 'abort' ? action : undefined;
}

/** The pid of a live controller on this state file, if one runs. */
export async function liveController(file: string): Promise<number | undefined> {
  const bytes = await readFileIfExists(stateFiles(file).lock);
  const pid = bytes === undefined ? NaN : Number(Buffer.from(bytes).toString('utf8').trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Claim the state file for this process; refuses when another live controller holds it. */
export async function claimLock(file: string): Promise<() => Promise<void>> {
  const other = await liveController(file);
  if (other !== undefined && other !== process.pid) {
    throw new OtaError('ROLLOUT_BUSY', `a controller (pid ${other}) already runs on ${file}: stop it first, or use rollout pause/resume/abort`);
  }
  const lock = stateFiles(file).lock;
  await writeFileAtomic(lock, Buffer.from(`${process.pid}\n`));
  return async () => { await fsp.rm(lock, { force: true }); };
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const STATUSES: readonly RolloutStatus[] = ['running', 'paused', 'halted', 'aborted', 'completed'];

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what} must be an object`);
  return v;
}
function num(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${k} must be a number`);
  return v;
}
function str(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new Error(`${k} must be a string`);
  return v;
}

function readState(v: unknown): ControllerState {
  const o = obj(v, 'state');
  if (o['format'] !== 'ota-rollout/1') throw new Error('not an ota-rollout/1 state file');
  const pv = num(o, 'protocolVersion');
  const hardware = o['hardware'];
  if (!Array.isArray(hardware) || !hardware.every((h): h is string => typeof h === 'string')) throw new Error('hardware must be a list of strings');
  const p = obj(o['policy'], 'policy');
  const stages = p['stagesPercent'];
  if (!Array.isArray(stages) || !stages.every((x): x is number => typeof x === 'number')) throw new Error('policy.stagesPercent must be numbers');
  const pub = o['published'];
  const served = o['servedDir'];
  if (served !== undefined && typeof served !== 'string') throw new Error('servedDir must be a string');
  const artifactsUrl = o['artifactsUrl'];
  if (artifactsUrl !== undefined && typeof artifactsUrl !== 'string') throw new Error('artifactsUrl must be a string');
  const halts = o['earlierHalts'];
  if (halts !== undefined && !(Array.isArray(halts) && halts.every((h): h is string => typeof h === 'string'))) throw new Error('earlierHalts must be a list of strings');
  const channel = o['channel'];
  if (channel !== undefined && (typeof channel !== 'string' || !isChannelName(channel))) throw new Error('channel must be a channel name');
  const startedAtMs = o['startedAtMs'];
  if (startedAtMs !== undefined && typeof startedAtMs !== 'number') throw new Error('startedAtMs must be a number');
  const canaries = optionalList(p['canaries'], 'policy.canaries');
  const members = optionalList(o['members'], 'members');
  const group = optionalString(o['group'], 'group');
  const database = optionalString(o['database'], 'database');
  return {
    ...(served === undefined ? {} : { servedDir: served }), ...(artifactsUrl === undefined ? {} : { artifactsUrl }),
    ...(startedAtMs === undefined ? {} : { startedAtMs }), ...(halts === undefined ? {} : { earlierHalts: halts }), ...(channel === undefined ? {} : { channel }),
    ...(group === undefined ? {} : { group }), ...(members === undefined ? {} : { members }), ...(database === undefined ? {} : { database }),
    format: 'ota-rollout/1', releaseDir: str(o, 'releaseDir'), keysDir: str(o, 'keysDir'), broker: str(o, 'broker'),
    protocolVersion: pv === 5 ? 5 : 4, hardware,
    policy: { stagesPercent: stages, successThresholdPercent: num(p, 'successThresholdPercent'), failureThresholdPercent: num(p, 'failureThresholdPercent'), minDevices: num(p, 'minDevices'), soakMs: num(p, 'soakMs'), ...(canaries === undefined ? {} : { canaries }) },
    rolloutLifetimeMs: num(o, 'rolloutLifetimeMs'), spreadSeconds: num(o, 'spreadSeconds'),
    rollout: readRolloutState(obj(o['rollout'], 'rollout')), targetPpm: num(o, 'targetPpm'),
    published: pub === null ? null : readPublished(obj(pub, 'published')),
    tracking: readTracking(obj(o['tracking'], 'tracking')),
    tally: readTally(obj(o['tally'], 'tally')),
  };
}

function readPublished(p: Obj): NonNullable<ControllerState['published']> {
  const expires = p['expiresAtMs'];
  if (expires !== undefined && typeof expires !== 'number') throw new Error('published.expiresAtMs must be a number');
  const audience = optionalString(p['audience'], 'published.audience');
  return {
    ppm: num(p, 'ppm'), rolloutVersion: num(p, 'rolloutVersion'), signedAtMs: num(p, 'signedAtMs'),
    ...(expires === undefined ? {} : { expiresAtMs: expires }), ...(audience === undefined ? {} : { audience }),
  };
}

function optionalList(v: unknown, what: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new Error(`${what} must be a list of strings`);
  return v;
}

function optionalString(v: unknown, what: string): string | undefined {
  if (v !== undefined && typeof v !== 'string') throw new Error(`${what} must be a string`);
  return v;
}

function readRolloutState(r: Obj): RolloutState {
  const status = STATUSES.find((s) => s === r['status']);
  if (status === undefined) throw new Error('rollout.status is unknown');
  const reason = r['reason'];
  const ppm = r['stagePpm'];
  return {
    rolloutId: str(r, 'rolloutId'), releaseVersion: num(r, 'releaseVersion'), stageIndex: num(r, 'stageIndex'), stageStartedAtMs: num(r, 'stageStartedAtMs'), status,
    ...(typeof reason === 'string' ? { reason } : {}), ...(typeof ppm === 'number' ? { stagePpm: ppm } : {}),
  };
}

function readTally(t: Obj): StageTally {
  const f = t['failures'];
  if (f !== undefined && !Array.isArray(f)) throw new Error('tally.failures must be a list');
  const failures = (f ?? []).map((x: unknown, k: number) => { const d = obj(x, `tally.failures[${k}]`); return { deviceId: str(d, 'deviceId'), reason: str(d, 'reason') }; });
  return {
    inStage: num(t, 'inStage'), committed: num(t, 'committed'), failed: num(t, 'failed'), pending: num(t, 'pending'),
    ...(failures.length === 0 ? {} : { failures }),
  };
}

function readTracking(t: Obj): Tracking {
  const out: Record<string, DeviceTrack> = {};
  for (const [id, v] of Object.entries(t)) {
    const d = obj(v, `tracking.${id}`);
    const e = d['baselineError'];
    const x = d['excused'];
    const excused = isObj(x) ? { bootId: str(x, 'bootId'), seq: num(x, 'seq') } : undefined;
    out[id] = { baselineError: typeof e === 'string' ? e : null, attempted: d['attempted'] === true, ...(excused === undefined ? {} : { excused }) };
  }
  return out;
}
