/**
 * The delta encoder (fleet side): block index, ext4 file map, bsdiff, gzip rebuild,
 * segmented container.
 */
export { encodeDelta, STRATEGIES, type EncodeOptions, type EncodeStats, type Strategy } from './encode.js';
export { ContentIndex, matchRange, piecesCost } from './matcher.js';
export { FilePairer, sketch, shared, versionless, type PairedBy, type Pairing } from './pairing.js';
export { bsdiff, type DiffPiece } from './bsdiff.js';
export { suffixArray } from './suffix.js';
export { mapExt4, type Ext4Map, type Ext4File } from './ext4.js';
export { findGzipRebuild, type GzipRebuild } from './gzip.js';
export { ContainerBuilder, type StreamTotals } from './container.js';
export { OP_KINDS, reportDeltaFile, type DeltaReport, type KindTotals, type OpKind } from './report.js';
