/**
 * The delta container: header (base, target, segment table) and segments (op,
 * add and literal streams). Shared by the device decoder and the fleet encoder.
 */
export * from './header.js';
export * from './segment.js';
export { VarintReader, VarintWriter } from './varint.js';
