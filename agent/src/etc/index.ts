/**
 * /etc across updates on a read-only root: an overlay per slot whose upper
 * directory lives on the data partition (set up at boot by `agent/init/ota-init`),
 * carried to the new slot at install with OSTree's rule (the device's changes
 * win) and every conflict with the new release reported. See docs/data-partition.md.
 */
export { CONFLICT_LIMIT, findConflicts, type Conflicts, type UpperEntry } from './conflicts.js';
export { ETC_MANIFEST_FORMAT, ETC_MANIFEST_LIMITS, encodeManifest, entryAt, parseManifest, sameEntry, scanTree, type EtcEntry, type EtcManifest } from './manifest.js';
export { EtcMergeStore, hasEtcOverlay, prepareSlotEtc, type EtcLayout, type EtcMerge } from './prepare.js';
export { copyUpper, scanUpper, upperDirOf } from './upper.js';
export { carryEtc, type EtcStepInput } from './step.js';
