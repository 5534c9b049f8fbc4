/**
 * Slots: the slot table from the agent config (file or block device targets,
 * never the booted slot), the raw image writer, and the record of what each slot holds.
 */
export { SlotTable, SlotWriter, hashSlot, otherSlot } from './table.js';
export type { SlotTarget } from './table.js';
export { IMPLAUSIBLE_FIX, MIN_IMAGE_BYTES, checkImageSize, verifySlotImage } from './image.js';
export { SlotRecordStore, decodeSlotRecords } from './records.js';
export type { SlotContent, SlotRecords } from './records.js';
