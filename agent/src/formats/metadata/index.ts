/**
 * Signed metadata both sides use: the strict JSON parser, canonical JSON,
 * ed25519 as securesystemslib defines it, the root/release/rollout documents,
 * the notice, and the typed refusal reasons. docs/trust.md explains the model.
 */
export { REFUSAL_REASONS, Refusal, isRefusal, readRefusedNotice, refusedNotice, type RefusalReason, type RefusedNotice } from './refusal.js';
export { METADATA_LIMITS, checkPayloadSize, parseStrictJson, hasOwn, type JsonLimits, type JsonObject, type JsonValue } from './json.js';
export { canonicalBytes, canonicalString, compareCodePoints } from './canonical.js';
export { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, isCanonicalS, keyidOf, malleate, pointProblem, publicKeyObject, verifyEd25519 } from './ed25519.js';
export { MAX_SIGNATURES, readEnvelope, type Envelope, type SignatureEntry } from './envelope.js';
export { formatUtcTime, utcTime } from './fields.js';
/** Typed reads of parsed JSON (`fields.uint(v, path)`...), for other signed or persisted documents. */
export * as fields from './fields.js';
export { ROLES, readRoot, type PublicKey, type RoleKeys, type RoleName, type RootMetadata } from './root.js';
export { BOOT_SCRIPT_FORMAT, BOOT_SCRIPT_MAX_BYTES, BOOT_SCRIPT_RELEASE_SPEC, RELEASE_SPEC_MAJOR, ETC_MANIFEST_ARTIFACT, RAW_FORMAT, RELEASE_NAME, RELEASE_NAME_MAX, deltaFor, releaseArtifacts, releaseLabel, readRelease, type Artifact, type ArtifactSegment, type DeltaArtifact, type ImageDigest, type ReleaseMetadata } from './release.js';
export { CHANNEL_NAME, CHANNEL_ROLLOUT_SPEC, DEFAULT_CHANNEL, MAX_SWITCH_VALIDITY_MS, checkChannelName, isChannelName, readChannelSwitch, type ChannelSwitch } from './channel.js';
export { MAX_SPREAD_SECONDS, PPM, ROLLOUT_SPEC_MAJOR, audienceIncludes, cohortPpm, readRollout, startDelayMs, type Audience, type RolloutMetadata, type StagedCohort } from './rollout.js';
export { MAX_NOTICE_ROOTS, encodeNotice, parseCanonical, readNotice, readSignedFile, type Notice } from './notice.js';
