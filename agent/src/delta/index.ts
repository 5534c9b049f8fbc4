/**
 * The streaming delta decoder: verify the base, apply verified segments to the
 * target slot in order, fsync, verify the written slot against the target sha256.
 */
export { DeltaApplier, outputOffsetBefore, type ApplierOptions, type ApplyState } from './applier.js';
export { applyDeltaFile, readDeltaFileHeader, readDeltaFileSegments, splitDeltaStream, type ApplyFileOptions } from './file.js';
export { openBaseFile, type BaseReader } from './source.js';
export { containerOffsetBefore, DeltaStream, headerPrefix, segmentAtContainerOffset, type OpenApplier } from './stream.js';
export { arm64Predict, arm64PredictInContext, arm64Target, arm64WithTarget, mapAddress, type AddressMap } from './arm64.js';
export { ExecSource, predictWords } from './exec.js';
