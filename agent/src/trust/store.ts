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
  canonicalBytes, fields, formatUtcTime, parseCanonical, readSignedFile, utcTime, METADATA_LIMITS,
} from '../formats/index.js';
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
export async function persistAccepted(dir: string, state: TrustState, accepted: Accepted, write: DurableWrite = writeFileAtomic): Promise<TrustState> {
  const next: TrustState = {
    ...state,
    trusted: accepted.trusted,
    // Not a max with the old value: a rollout key rotation resets it (see verifyNotice).
    rolloutVersion: accepted.rolloutVersion,
    timeFloorMs: Math.max(state.timeFloorMs, accepted.timeFloorMs),
  };
  await writeState(dir, next, write);
  if (accepted.rotated) await write(join(dir, TRUST_FILES.root), canonicalBytes(accepted.trusted.envelope.document));
  return next;
}

/** Raise the anti-rollback floor after a version committed (never lowers it). */
export async function recordInstalled(dir: string, state: TrustState, version: number): Promise<TrustState> {
  const next = { ...state, installedVersion: Math.max(state.installedVersion, version) };
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

async function writeState(dir: string, s: TrustState, write: DurableWrite = writeFileAtomic): Promise<void> {
  await write(join(dir, TRUST_FILES.state), canonicalBytes({
    installedVersion: s.installedVersion,
    rolloutVersion: s.rolloutVersion,
    timeFloor: formatUtcTime(s.timeFloorMs),
    failedVersions: [...s.failedVersions],
  }));
}

function decodeState(bytes: Uint8Array, file: string): Omit<TrustState, 'trusted'> {
  const { object, member, uint, utcTime, array } = fields;
  const o = object(parseCanonical(bytes, METADATA_LIMITS, file), file, ['installedVersion', 'rolloutVersion', 'timeFloor', 'failedVersions']);
  return {
    installedVersion: uint(member(o, 'installedVersion'), `${file}.installedVersion`),
    rolloutVersion: uint(member(o, 'rolloutVersion'), `${file}.rolloutVersion`),
    timeFloorMs: utcTime(member(o, 'timeFloor'), `${file}.timeFloor`),
    failedVersions: array(member(o, 'failedVersions'), `${file}.failedVersions`, MAX_FAILED_VERSIONS).map((v, k) => uint(v, `${file}.failedVersions[${k}]`)),
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
