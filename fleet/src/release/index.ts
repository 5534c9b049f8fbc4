/**
 * Releases: artifacts hashed in segments, signed release metadata, signed
 * rollouts, and the notice a device receives.
 */
export { DEFAULT_SEGMENT_BYTES, addArtifact, artifactJson, deltaSegmentSizes, hashFile, type HashedFile, type SegmentCut } from './artifacts.js';
export { noticeBytes, releaseRef, rolloutSigned, signRelease, signRollout, type ReleaseSpec, type RolloutSpec } from './documents.js';
export { nextRolloutVersion, writeRollout, type RolloutOptions } from './rollouts.js';
export { addCompressedImage, addDeltas, planDeltas, type DeltaSource } from './deltas.js';
export { Progress } from './progress.js';
export { addEtcManifest, etcManifestOf } from './etc.js';
export { checkBundleTarget, writeBundle } from './bundle.js';
export { dueForResign, resignRelease, type Resigned } from './resign.js';
export { nextSwitchCounter, signChannelSwitch, type SwitchOptions } from './switch.js';
export { addBootScript, readBootScript } from './boot-script.js';
