/**
 * Rollout metadata (TUF's timestamp role, an online key): which release is
 * current, for which devices, until when. It names the release by version and
 * by the sha256 of the release's canonical `signed` part, so it can point at a
 * release but never change what the release contains.
 * `signed` = {"_type":"rollout","version":N,"issued":T,"expires":T,
 * "release":{"version":N,"sha256":H},"audience":{"all":B,"devices":[..],"cohorts":[..]},
 * "spreadSeconds":N}.
 */
import { boolean, identList, member, object, malformed, sha256Hex, uint, utcTime } from './fields.js';
import { expectType, type Envelope } from './envelope.js';

/** Which devices a rollout is for: every device, or those listed by id or cohort. */
export interface Audience {
  readonly all: boolean;
  readonly devices: readonly string[];
  readonly cohorts: readonly string[];
}

/** Checked rollout metadata. */
export interface RolloutMetadata {
  /** Monotonic across every rollout the fleet signs: orders notices. */
  readonly version: number;
  /** When the fleet signed it: raises the device's time floor once accepted. */
  readonly issuedMs: number;
  readonly expiresMs: number;
  readonly release: { readonly version: number; readonly sha256: string };
  readonly audience: Audience;
  /** Devices start downloading at a random point of this window (spreads the load). */
  readonly spreadSeconds: number;
}

/** Longest accepted spread window: 30 days. */
export const MAX_SPREAD_SECONDS = 30 * 86_400;

/** Check a rollout's `signed` part. */
export function readRollout(env: Envelope, path: string): RolloutMetadata {
  const p = `${path}.signed`;
  const s = object(env.signed, p, ['_type', 'version', 'issued', 'expires', 'release', 'audience', 'spreadSeconds']);
  expectType(s, 'rollout', p);
  const rel = object(member(s, 'release'), `${p}.release`, ['version', 'sha256']);
  const aud = object(member(s, 'audience'), `${p}.audience`, ['all', 'devices', 'cohorts']);
  const audience = {
    all: boolean(member(aud, 'all'), `${p}.audience.all`),
    devices: identList(member(aud, 'devices'), `${p}.audience.devices`),
    cohorts: identList(member(aud, 'cohorts'), `${p}.audience.cohorts`),
  };
  if (audience.all === (audience.devices.length + audience.cohorts.length > 0)) {
    malformed(`${p}.audience`, 'either "all" is true and the lists are empty, or "all" is false and a list names someone');
  }
  const spreadSeconds = uint(member(s, 'spreadSeconds'), `${p}.spreadSeconds`);
  if (spreadSeconds > MAX_SPREAD_SECONDS) malformed(`${p}.spreadSeconds`, `must be at most ${MAX_SPREAD_SECONDS}`);
  const issuedMs = utcTime(member(s, 'issued'), `${p}.issued`);
  const expiresMs = utcTime(member(s, 'expires'), `${p}.expires`);
  if (issuedMs >= expiresMs) malformed(`${p}.issued`, 'must be before "expires"');
  return {
    version: uint(member(s, 'version'), `${p}.version`),
    issuedMs,
    expiresMs,
    release: { version: uint(member(rel, 'version'), `${p}.release.version`), sha256: sha256Hex(member(rel, 'sha256'), `${p}.release.sha256`) },
    audience,
    spreadSeconds,
  };
}

/** True when the audience includes this device (by id, or by its cohort when it has one). */
export function audienceIncludes(audience: Audience, deviceId: string | undefined, cohort: string | undefined): boolean {
  if (audience.all) return true;
  return (deviceId !== undefined && audience.devices.includes(deviceId)) || (cohort !== undefined && audience.cohorts.includes(cohort));
}

/** The delay before this device starts downloading: uniform in the spread window (`random` in [0,1)). */
export function startDelayMs(rollout: RolloutMetadata, random: () => number): number {
  return Math.floor(random() * rollout.spreadSeconds * 1000);
}
