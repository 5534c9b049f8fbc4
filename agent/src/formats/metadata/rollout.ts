/**
 * Rollout metadata (TUF's timestamp role, an online key): which release is
 * current, for which devices, until when. It names the release by version and
 * by the sha256 of the release's canonical `signed` part, so it can point at a
 * release but never change what the release contains.
 * `signed` = {"_type":"rollout","version":N,"issued":T,"expires":T,
 * "release":{"version":N,"sha256":H},"audience":{"all":B,"devices":[..],"cohorts":[..]},
 * "spreadSeconds":N}; `audience` may also hold "stage":{"rollout":ID,"ppm":N}: the
 * staged-rollout cohort, every device whose cohortPpm(ID, deviceId) is below N. `channel` names the
 * release channel (absent: `stable`); a rollout for another channel carries `specVersion` "2.0", so an
 * agent without channels refuses it (`newer-spec`) instead of installing a channel it does not follow.
 */
import { createHash } from 'node:crypto';
import { boolean, ident, identList, known, member, malformed, sha256Hex, specVersion, uint, utcTime } from './fields.js';
import { expectType, type Envelope } from './envelope.js';
import { DEFAULT_CHANNEL, readChannelName } from './channel.js';
import type { JsonValue } from './json.js';

/** Parts per million: a staged cohort's size (signed documents carry integers only). */
export const PPM = 1_000_000;

/**
 * The devices of a staged rollout so far: those whose place `cohortPpm(rollout,
 * deviceId)` is below `ppm`. Widening a stage raises `ppm`; 0 holds nobody (a halt).
 */
export interface StagedCohort {
  /** The rollout's id: each rollout draws its own order of devices. */
  readonly rollout: string;
  /** 0..1,000,000. */
  readonly ppm: number;
}

/** Which devices a rollout is for: every device, or those listed by id, named cohort or staged cohort. */
export interface Audience {
  readonly all: boolean;
  readonly devices: readonly string[];
  readonly cohorts: readonly string[];
  readonly stage?: StagedCohort;
}

/**
 * A device's place in a staged rollout, an integer in [0, 1e6): the first four
 * bytes of sha256(rolloutId NUL deviceId), scaled. Stable while the rollout runs,
 * independent between rollouts; the fleet and the device compute the same value.
 */
export function cohortPpm(rolloutId: string, deviceId: string): number {
  const digest = createHash('sha256').update(`${rolloutId}\0${deviceId}`).digest();
  return Math.floor((digest.readUInt32BE(0) * PPM) / 2 ** 32);
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
  /** The release channel this rollout is for (`stable` when the document names none). */
  readonly channel: string;
}

/** The newest rollout format major this agent reads: 2 (rollouts of channels other than `stable`). */
export const ROLLOUT_SPEC_MAJOR = 2;

/** Longest accepted spread window: 30 days. */
export const MAX_SPREAD_SECONDS = 30 * 86_400;

/** Check a rollout's `signed` part. */
export function readRollout(env: Envelope, path: string): RolloutMetadata {
  const p = `${path}.signed`;
  specVersion(env.signed, p, ROLLOUT_SPEC_MAJOR);
  const s = known(env.signed, p, ['_type', 'version', 'issued', 'expires', 'release', 'audience', 'spreadSeconds']);
  const channelValue = member(s, 'channel');
  expectType(s, 'rollout', p);
  const rel = known(member(s, 'release'), `${p}.release`, ['version', 'sha256']);
  const audience = readAudience(member(s, 'audience'), `${p}.audience`);
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
    channel: channelValue === undefined ? DEFAULT_CHANNEL : readChannelName(channelValue, `${p}.channel`),
  };
}

function readAudience(v: JsonValue | undefined, p: string): Audience {
  const aud = known(v, p, ['all', 'devices', 'cohorts']);
  const all = boolean(member(aud, 'all'), `${p}.all`);
  const devices = identList(member(aud, 'devices'), `${p}.devices`);
  const cohorts = identList(member(aud, 'cohorts'), `${p}.cohorts`);
  const stageValue = member(aud, 'stage');
  const stage = stageValue === undefined ? undefined : readStage(stageValue, `${p}.stage`);
  // A stage counts as naming someone even at 0 ppm: that is a signed halt, not a mistake.
  if (all === (devices.length + cohorts.length > 0 || stage !== undefined)) {
    malformed(p, 'either "all" is true and nobody is listed (no lists, no stage), or "all" is false and a list or a stage names someone');
  }
  return { all, devices, cohorts, ...(stage === undefined ? {} : { stage }) };
}

function readStage(v: JsonValue | undefined, p: string): StagedCohort {
  const o = known(v, p, ['rollout', 'ppm']);
  const ppm = uint(member(o, 'ppm'), `${p}.ppm`);
  if (ppm > PPM) malformed(`${p}.ppm`, `must be at most ${PPM}`);
  return { rollout: ident(member(o, 'rollout'), `${p}.rollout`), ppm };
}

/** True when the audience includes this device (by id, by its named cohort, or by its place in the staged cohort). */
export function audienceIncludes(audience: Audience, deviceId: string | undefined, cohort: string | undefined): boolean {
  if (audience.all) return true;
  if (deviceId !== undefined && audience.devices.includes(deviceId)) return true;
  if (cohort !== undefined && audience.cohorts.includes(cohort)) return true;
  const stage = audience.stage;
  return stage !== undefined && deviceId !== undefined && cohortPpm(stage.rollout, deviceId) < stage.ppm;
}

/** The delay before this device starts downloading: uniform in the spread window (`random` in [0,1)). */
export function startDelayMs(rollout: RolloutMetadata, random: () => number): number {
  return Math.floor(random() * rollout.spreadSeconds * 1000);
}
