/**
 * The signed documents of a release: the release metadata (release keys), a
 * rollout (rollout keys) naming it by version and by the sha256 of its
 * canonical `signed` part, and the notice that carries both plus the root
 * rotation chain.
 */
import { createHash } from 'node:crypto';
import {
  canonicalBytes, encodeNotice, formatUtcTime, parseStrictJson, METADATA_LIMITS, type JsonObject, type JsonValue, type StagedCohort,
} from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { signDocument, type SigningKey } from '../keys/index.js';

/** What a release says, before signing. */
export interface ReleaseSpec {
  readonly version: number;
  readonly expiresMs: number;
  readonly hardware: readonly string[];
  readonly installed: { readonly sizeBytes: number; readonly sha256: string };
  readonly image: JsonObject;
  readonly deltas: readonly JsonObject[];
}

/** Who a rollout is for and how it spreads. */
export interface RolloutSpec {
  readonly version: number;
  readonly issuedMs: number;
  readonly expiresMs: number;
  readonly release: { readonly version: number; readonly sha256: string };
  readonly devices: readonly string[];
  readonly cohorts: readonly string[];
  /** The staged cohort: devices whose cohortPpm(rollout, id) is below ppm (0 ppm: nobody, a halt). */
  readonly stage?: StagedCohort;
  readonly spreadSeconds: number;
}

/** The signed release metadata. */
export function signRelease(spec: ReleaseSpec, keys: readonly SigningKey[]): JsonObject {
  return signDocument({
    _type: 'release', version: spec.version, expires: formatUtcTime(spec.expiresMs), hardware: [...spec.hardware],
    installed: { sizeBytes: spec.installed.sizeBytes, sha256: spec.installed.sha256 }, image: spec.image, deltas: [...spec.deltas],
  }, keys);
}

/** The signed rollout document (every device when no device, cohort or stage is named). */
export function signRollout(spec: RolloutSpec, keys: readonly SigningKey[]): JsonObject {
  const stage = spec.stage;
  const all = spec.devices.length === 0 && spec.cohorts.length === 0 && stage === undefined;
  return signDocument({
    _type: 'rollout', version: spec.version, issued: formatUtcTime(spec.issuedMs), expires: formatUtcTime(spec.expiresMs),
    release: { version: spec.release.version, sha256: spec.release.sha256 },
    audience: {
      all, devices: [...spec.devices], cohorts: [...spec.cohorts],
      ...(stage === undefined ? {} : { stage: { rollout: stage.rollout, ppm: stage.ppm } }),
    },
    spreadSeconds: spec.spreadSeconds,
  }, keys);
}

/** How a rollout names a release: its version and the sha256 of its canonical `signed` part. */
export function releaseRef(release: JsonObject): { version: number; sha256: string } {
  const signed = release['signed'];
  const version = typeof signed === 'object' && signed !== null && !Array.isArray(signed) ? signed['version'] : undefined;
  if (signed === undefined || typeof version !== 'number') throw new OtaError('RELEASE_INVALID', 'release document has no signed.version: re-make it with ota-fleet release');
  return { version, sha256: createHash('sha256').update(canonicalBytes(signed)).digest('hex') };
}

/** The notice bytes for a release, a rollout and the rotated roots (canonical bytes each). */
export function noticeBytes(release: JsonObject, rollout: JsonObject, roots: readonly Uint8Array[]): Uint8Array {
  const parsed: JsonValue[] = roots.map((r, k) => parseStrictJson(r, METADATA_LIMITS, `root ${k}`));
  return encodeNotice({ roots: parsed, release, rollout });
}
