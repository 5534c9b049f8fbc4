/**
 * The signed documents of a release: the release metadata (release keys), a
 * rollout (rollout keys) naming it by version and by the sha256 of its
 * canonical `signed` part, and the notice that carries both plus the root
 * rotation chain.
 */
import { createHash } from 'node:crypto';
import {
  BOOT_SCRIPT_RELEASE_SPEC, CHANNEL_ROLLOUT_SPEC, DEFAULT_CHANNEL, canonicalBytes, encodeNotice, formatUtcTime, isRefusal, parseStrictJson, readNotice, readRelease, readRollout, METADATA_LIMITS,
  type Envelope, type JsonObject, type JsonValue, type StagedCohort,
} from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { signDocument, type SigningKey } from '../keys/index.js';

/** What a release says, before signing. */
export interface ReleaseSpec {
  readonly version: number;
  /** The human version (`--name`), signed with the rest. */
  readonly name?: string;
  readonly expiresMs: number;
  readonly hardware: readonly string[];
  readonly installed: { readonly sizeBytes: number; readonly sha256: string };
  readonly image: JsonObject;
  readonly deltas: readonly JsonObject[];
  /** The artifact of the image's /etc manifest (fleet/src/release/etc.ts), when there is one. */
  readonly etc?: JsonObject;
  /** The channels the release is published on (`--channel`); absent: written as none, which devices read as `stable`. */
  readonly channels?: readonly string[];
  /** The artifact of a new boot.scr (fleet/src/release/boot-script.ts), when the release changes it. */
  readonly bootScript?: JsonObject;
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
  /** The release channel (absent or `stable`: no member, the bytes of a rollout from before channels). */
  readonly channel?: string;
}

/**
 * Run a device's validator (`readRelease`, `readRollout`, `readNotice`) on what
 * the fleet is about to sign or publish: a document every device would refuse
 * is an OtaError `code` here, before any key signs it.
 */
export function deviceCheck<T>(code: 'RELEASE_INVALID' | 'ROLLOUT_INVALID' | 'NOTICE_INVALID', fix: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!isRefusal(err)) throw err;
    throw new OtaError(code, `refusing to sign what every device would refuse [${err.reason}]: ${err.message}; ${fix}`, { cause: err });
  }
}

/** `signed` in an envelope with no signature yet, as the device's readers take it. */
function unsigned(signed: JsonObject): Envelope {
  return { document: { signed, signatures: [] }, signed, signedBytes: canonicalBytes(signed), signatures: [] };
}

/** The release's `signed` part, checked with the device's reader. */
export function releaseSigned(spec: ReleaseSpec): JsonObject {
  const signed: JsonObject = {
    // a boot script needs an agent that knows it (an older one would install the slot without it)
    ...(spec.bootScript === undefined ? {} : { specVersion: BOOT_SCRIPT_RELEASE_SPEC }),
    _type: 'release', version: spec.version, ...(spec.name === undefined ? {} : { name: spec.name }), expires: formatUtcTime(spec.expiresMs), hardware: [...spec.hardware],
    installed: { sizeBytes: spec.installed.sizeBytes, sha256: spec.installed.sha256 }, image: spec.image, deltas: [...spec.deltas],
    ...(spec.etc === undefined ? {} : { etc: spec.etc }),
    ...(spec.channels === undefined ? {} : { channels: [...spec.channels] }),
    ...(spec.bootScript === undefined ? {} : { bootScript: spec.bootScript }),
  };
  deviceCheck('RELEASE_INVALID', 'check --version, --name, --hardware, --channel and the images', () => readRelease(unsigned(signed), 'release'));
  return signed;
}

/** The signed release metadata (checked with the device's reader first). */
export function signRelease(spec: ReleaseSpec, keys: readonly SigningKey[]): JsonObject {
  return signDocument(releaseSigned(spec), keys);
}

/** The signed rollout document (every device when no device, cohort or stage is named; checked with the device's reader first). */
export function signRollout(spec: RolloutSpec, keys: readonly SigningKey[]): JsonObject {
  return signDocument(rolloutSigned(spec), keys);
}

/** The rollout's `signed` part, checked with the device's reader. */
export function rolloutSigned(spec: RolloutSpec): JsonObject {
  const stage = spec.stage;
  const all = spec.devices.length === 0 && spec.cohorts.length === 0 && stage === undefined;
  // Another channel than stable is a rule an agent without channels must not ignore: a new major (docs/trust.md).
  const channel = spec.channel === undefined || spec.channel === DEFAULT_CHANNEL ? {} : { specVersion: CHANNEL_ROLLOUT_SPEC, channel: spec.channel };
  const signed: JsonObject = {
    ...channel,
    _type: 'rollout', version: spec.version, issued: formatUtcTime(spec.issuedMs), expires: formatUtcTime(spec.expiresMs),
    release: { version: spec.release.version, sha256: spec.release.sha256 },
    audience: {
      all, devices: [...spec.devices], cohorts: [...spec.cohorts],
      ...(stage === undefined ? {} : { stage: { rollout: stage.rollout, ppm: stage.ppm } }),
    },
    spreadSeconds: spec.spreadSeconds,
  };
  deviceCheck('ROLLOUT_INVALID', 'check --device, --cohort, --spread and the expiry', () => readRollout(unsigned(signed), 'rollout'));
  return signed;
}

/** How a rollout names a release: its version and the sha256 of its canonical `signed` part. */
export function releaseRef(release: JsonObject): { version: number; sha256: string } {
  const signed = release['signed'];
  const version = typeof signed === 'object' && signed !== null && !Array.isArray(signed) ? signed['version'] : undefined;
  if (signed === undefined || typeof version !== 'number') throw new OtaError('RELEASE_INVALID', 'release document has no signed.version: re-make it with ota-fleet release');
  return { version, sha256: createHash('sha256').update(canonicalBytes(signed)).digest('hex') };
}

/** The notice bytes for a release, a rollout, the rotated roots (canonical bytes each) and maybe a channel switch, read back as a device reads them. */
export function noticeBytes(release: JsonObject, rollout: JsonObject, roots: readonly Uint8Array[], channelSwitch?: JsonObject): Uint8Array {
  const parsed: JsonValue[] = roots.map((r, k) => parseStrictJson(r, METADATA_LIMITS, `root ${k}`));
  const bytes = encodeNotice({ roots: parsed, release, rollout, ...(channelSwitch === undefined ? {} : { switch: channelSwitch }) });
  if (bytes.byteLength > METADATA_LIMITS.maxBytes) {
    throw new OtaError('NOTICE_TOO_LARGE', `the notice would be ${bytes.byteLength} bytes, over the devices' ${METADATA_LIMITS.maxBytes}-byte cap: fewer deltas or rotations per release`);
  }
  deviceCheck('NOTICE_INVALID', 're-make the release and the rollout with ota-fleet', () => readNotice(bytes));
  return bytes;
}
