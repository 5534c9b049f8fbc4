/**
 * A/B boot control: the BootControl interface, its U-Boot implementation on a
 * BootEnv, the boot-script simulator and the board config validator.
 */
export type { BootControl, SlotState } from './control.js';
export { UBootControl, bootOrder, nextBootSlot, parseCmdline, slotState, triesLeft } from './uboot-control.js';
export type { CmdlineBoot, UBootControlOptions } from './uboot-control.js';
export { BOARD_HELPER_VARS, BOARD_SCRIPT_VARS, BOOT_VARS, CMDLINE, DEFAULT_TRIES, MAX_TRIES, SLOTS, STATE_VAR_NAMES } from './vars.js';
export type { Slot } from './vars.js';
export { fileKey, simulateBoot } from './simulator.js';
export type { BootOutcome, BootRun, BootWorld, SimFile } from './simulator.js';
export { parseHush } from './hush.js';
export type { HushNode, Word, WordPart } from './hush.js';
export { boardPrologue, parseBoardConfig, validateBoardConfig } from './board-config.js';
export type { BoardConfig, BoardPartition, EnvPlacement } from './board-config.js';
export { DEFAULT_DATA_DIR, OTA_UNITS, sandboxDropIn, sandboxWritablePaths, writtenPaths } from './unit-sandbox.js';
export type { WrittenPath } from './unit-sandbox.js';
export { isValidScriptImage, makeScriptImage, parseScriptImage } from './script-image.js';
export type { ScriptImage } from './script-image.js';
export { BOOT_SCRIPT, BOOT_SCRIPT_NEXT, BOOT_SCRIPT_TEMP, BootScripts, mountedBootDir } from './boot-scripts.js';
export type { BootDir } from './boot-scripts.js';
