/**
 * The device's trust state on the data partition (never in a slot, so it
 * survives reverts): `root.json`, the trusted root, replaced only by a
 * verified rotation; `state.json`, the anti-rollback floor, the last rollout
 * version, the time floor and the versions that failed. Both are written with
 * writeFileAtomic; the floors only ever go up.
 */
import { join } from 'node:path';
import { OtaError, describe } from '../errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../durable/index.js';
import {
  CHANNEL_NAME, canonicalBytes, fields, formatUtcTime, parseCanonical, readSignedFile, utcTime, METADATA_LIMITS, type JsonValue,
} from '../formats/index.js';
import { followedChannel, setLocally, switched, type ChannelState, type PendingSwitch } from './channel.js';
import { loadRoot, type TrustedRoot } from './rotation.js';
import type { Accepted, TrustState } from './verify.js';

/** File names inside the trust directory. */
export const TRUST_FILES = { root: 'root.json', state: 'state.json' } as const;

/** How many failed versions are remembered (the oldest are forgotten first). */
export const MAX_FAILED_VERSIONS = 32;

/** The last root read and verified, so identical bytes are not verified again (ed25519 is slow on small CPUs). */
export interface RootCache {
  bytes?: Buffer;
  trusted?: TrustedRoot;
}

/** Read the trust state from `dir`; refuses when no root was provisioned or state.json is damaged. */
export async function loadTrustState(dir: string, cache: RootCache = {}): Promise<TrustState> {
  const rootFile = join(dir, TRUST_FILES.root);
  const rootBytes = await readFileIfExists(rootFile);
  if (rootBytes === undefined) {
    throw new OtaError('TRUST_NOT_PROVISIONED', `trust store ${dir}: no ${TRUST_FILES.root}; provision the device with the fleet's root.json (ota-agent provision --root ROOT.json)`);
  }
  const trusted = cache.trusted !== undefined && cache.bytes?.equals(rootBytes) === true ? cache.trusted
    : wrap(rootFile, () => loadRoot(rootBytes, rootFile));
  cache.bytes = rootBytes;
  cache.trusted = trusted;
  const stateFile = join(dir, TRUST_FILES.state);
  const stateBytes = await readFileIfExists(stateFile);
  if (stateBytes === undefined) return { trusted, installedVersion: 0, rolloutVersion: 0, timeFloorMs: 0, failedVersions: [] };
  return wrap(stateFile, () => ({ trusted, ...decodeState(stateBytes, stateFile) }));
}

/**
 * The channel part of the trust state alone: state.json read, the root neither read nor verified. What the
 * daemon subscribes to (every notice is still verified in full); an idle daemon then runs no signature check,
 * whose hot loops V8 would optimize at a lasting RSS cost (test/integration/device/bundle.test.ts).
 */
export async function loadChannelState(dir: string): Promise<ChannelState> {
  const stateFile = join(dir, TRUST_FILES.state);
  const stateBytes = await readFileIfExists(stateFile);
  if (stateBytes === undefined) return {};
  return wrap(stateFile, () => decodeState(stateBytes, stateFile));
}

/** Install the first root (refuses to replace one: later roots come only by rotation). */
export async function provisionRoot(dir: string, rootBytes: Uint8Array): Promise<TrustedRoot> {
  const file = join(dir, TRUST_FILES.root);
  if (await readFileIfExists(file) !== undefined) {
    throw new OtaError('TRUST_ALREADY_PROVISIONED', `trust store ${dir}: a root is already installed; roots change only by signed rotation`);
  }
  const trusted = loadRoot(rootBytes, 'root to provision');
  await writeFileAtomic(file, rootBytes);
  return trusted;
}

/** Writes one file durably (writeFileAtomic; tests pass one that stops part way, as a power cut would). */
export type DurableWrite = (file: string, bytes: Uint8Array) => Promise<void>;

/**
 * Persist what an accepted notice changes: the rollout version and time floor
 * first, then the rotated root. In that order a power cut between the two
 * leaves the old root, which the next notice rotates again (resetting the
 * rollout version again if the rollout keys changed); the other order would
 * leave the new root beside the version the lost rollout key signed, and no
 * later rotation would tell them apart.
 */
export async function persistAccepted(dir: string, state: TrustState, accepted: Accepted, write: DurableWrite = writeFileAtomic, followed = accepted.channel): Promise<TrustState> {
  // A switch moves the channel and its floor in the same write as the rollout version: one atomic step.
  const base: TrustState = accepted.switch === undefined ? state : { ...state, ...switched(state, followed, accepted.switch) };
  const next: TrustState = {
    ...base,
    trusted: accepted.trusted,
    // Not a max with the old value: a rollout key rotation resets it (see verifyNotice).
    rolloutVersion: accepted.rolloutVersion,
    timeFloorMs: Math.max(state.timeFloorMs, accepted.timeFloorMs),
  };
  await writeState(dir, next, write);
  if (accepted.rotated) await write(join(dir, TRUST_FILES.root), canonicalBytes(accepted.trusted.envelope.document));
  return next;
}

/** Raise the anti-rollback floor after a version committed (never lowers it); a pending switch is done once its release (or a later one) commits. */
export async function recordInstalled(dir: string, state: TrustState, version: number): Promise<TrustState> {
  const { pendingSwitch, ...rest } = state;
  const done = pendingSwitch !== undefined && version >= pendingSwitch.version;
  const next = { ...(done ? rest : state), installedVersion: Math.max(state.installedVersion, version) };
  await writeState(dir, next);
  return next;
}

/** `ota-agent channel set`: follow `to` from `followed` (floors kept: see setLocally). */
export async function recordChannelSet(dir: string, state: TrustState, followed: string, to: string): Promise<TrustState> {
  if (to === followed) return state;
  const next = { ...state, ...setLocally(state, followed, to) };
  await writeState(dir, next);
  return next;
}

/** Remember a version that failed its health check, so it is not tried again in a loop. */
export async function recordFailed(dir: string, state: TrustState, version: number): Promise<TrustState> {
  if (state.failedVersions.includes(version)) return state;
  const next = { ...state, failedVersions: [...state.failedVersions, version].slice(-MAX_FAILED_VERSIONS) };
  await writeState(dir, next);
  return next;
}

// The channel members are written only once a device uses channels, so a device that never does keeps
// the state.json an agent from before channels reads.
async function writeState(dir: string, s: TrustState, write: DurableWrite = writeFileAtomic): Promise<void> {
  const p = s.pendingSwitch;
  await write(join(dir, TRUST_FILES.state), canonicalBytes({
    installedVersion: s.installedVersion,
    rolloutVersion: s.rolloutVersion,
    timeFloor: formatUtcTime(s.timeFloorMs),
    failedVersions: [...s.failedVersions],
    ...(s.channel === undefined ? {} : { channel: s.channel }),
    ...(s.channelFloors === undefined ? {} : { channelFloors: { ...s.channelFloors } }),
    ...(s.switchCounter === undefined ? {} : { switchCounter: s.switchCounter }),
    ...(p === undefined ? {} : { pendingSwitch: { channel: p.channel, version: p.version, counter: p.counter, sha256: p.sha256 } }),
  }));
}

const CHANNEL_MEMBERS = ['channel', 'channelFloors', 'switchCounter', 'pendingSwitch'];

function decodeState(bytes: Uint8Array, file: string): Omit<TrustState, 'trusted'> {
  const { object, member, uint, utcTime, array } = fields;
  const o = object(parseCanonical(bytes, METADATA_LIMITS, file), file, ['installedVersion', 'rolloutVersion', 'timeFloor', 'failedVersions'], CHANNEL_MEMBERS);
  const channel = member(o, 'channel');
  const floors = member(o, 'channelFloors');
  const counter = member(o, 'switchCounter');
  const pending = member(o, 'pendingSwitch');
  return {
    installedVersion: uint(member(o, 'installedVersion'), `${file}.installedVersion`),
    rolloutVersion: uint(member(o, 'rolloutVersion'), `${file}.rolloutVersion`),
    timeFloorMs: utcTime(member(o, 'timeFloor'), `${file}.timeFloor`),
    failedVersions: array(member(o, 'failedVersions'), `${file}.failedVersions`, MAX_FAILED_VERSIONS).map((v, k) => uint(v, `${file}.failedVersions[${k}]`)),
    ...(channel === undefined ? {} : { channel: channelName(channel, `${file}.channel`) }),
    ...(floors === undefined ? {} : { channelFloors: decodeFloors(floors, `${file}.channelFloors`) }),
    ...(counter === undefined ? {} : { switchCounter: uint(counter, `${file}.switchCounter`) }),
    ...(pending === undefined ? {} : { pendingSwitch: decodePending(pending, `${file}.pendingSwitch`) }),
  };
}

const channelName = (v: JsonValue, path: string): string => fields.string(v, path, CHANNEL_NAME, 'a channel name');

function decodeFloors(v: JsonValue, path: string): Record<string, number> {
  const o = fields.anyObject(v, path);
  const out: Record<string, number> = {};
  for (const [name, floor] of Object.entries(o)) out[channelName(name, `${path} key`)] = fields.uint(floor, `${path}.${name}`);
  return out;
}

function decodePending(v: JsonValue, path: string): PendingSwitch {
  const { object, member, uint, sha256Hex } = fields;
  const o = object(v, path, ['channel', 'version', 'counter', 'sha256']);
  return {
    channel: channelName(member(o, 'channel') ?? null, `${path}.channel`), version: uint(member(o, 'version'), `${path}.version`),
    counter: uint(member(o, 'counter'), `${path}.counter`), sha256: sha256Hex(member(o, 'sha256'), `${path}.sha256`),
  };
}

function wrap<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    // A damaged floor must not silently reset to 0 (that would re-open rollbacks): stop and say so.
    throw new OtaError('TRUST_STATE_DAMAGED', `trust store ${file} is damaged (${describe(err)}); restore it or re-provision the device`, { cause: err });
  }
}

/**
 * The trusted root's expiry (`expires` of `<dir>/root.json`), read without checking signatures: the file
 * was verified when it was stored, and the daemon's status document needs only the date (loading the
 * trust store verifies the root, which an idle daemon should not pay for at every status). Undefined
 * when there is no root or it cannot be read.
 */
export async function trustedRootExpiry(dir: string): Promise<string | undefined> {
  const bytes = await readFileIfExists(join(dir, TRUST_FILES.root)).catch(() => undefined);
  if (bytes === undefined) return undefined;
  try {
    const signed: unknown = readSignedFile(bytes, TRUST_FILES.root).signed;
    const expires: unknown = typeof signed === 'object' && signed !== null ? Reflect.get(signed, 'expires') : undefined;
    return typeof expires === 'string' ? formatUtcTime(utcTime(expires, 'root.expires')) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The channel the device follows, read from `<dir>/state.json` without loading the root (the status
 * document's field: no signature code at every status): its `channel`, else `provisioned`, else `stable`.
 * A damaged state.json reads as the provisioned channel here; loading the trust store says it is damaged.
 */
export async function followedChannelIn(dir: string, provisioned: string | undefined): Promise<string> {
  const bytes = await readFileIfExists(join(dir, TRUST_FILES.state)).catch(() => undefined);
  let channel: string | undefined;
  try {
    channel = bytes === undefined ? undefined : decodeState(bytes, TRUST_FILES.state).channel;
  } catch {
    channel = undefined;
  }
  return followedChannel({ ...(channel === undefined ? {} : { channel }) }, provisioned);
}
