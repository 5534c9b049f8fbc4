/**
 * The names shared with bootloader/boot.cmd, in one place. The script and
 * these constants must match exactly: test/unit/boot/vars.test.ts checks
 * that every name here appears in the script.
 */

/** The two slots of the A/B layout, as the script and the kernel command line spell them. */
export const SLOTS = ['A', 'B'] as const;
/** A slot name. */
export type Slot = (typeof SLOTS)[number];

/** State variables: written by the script on every boot and by the agent. */
export const BOOT_VARS = {
  /** Slots to try, space-separated, first is primary: `A B`. */
  order: 'BOOT_ORDER',
  /** Tries left per slot, one hex digit 0..9 (the script decrements before booting). */
  left: { A: 'BOOT_A_LEFT', B: 'BOOT_B_LEFT' },
  /** Canary: the script adds 1 (hex) and saves on every run; also passed as `ota.boot=`. */
  bootCount: 'OTA_BOOT_COUNT',
  /** How many times the script found no slot with tries left and refilled them (hex). */
  exhausted: 'OTA_EXHAUSTED',
  /** The slot on trial (armed by setPrimary, cleared by markGood/markBad); the script only carries it. */
  trial: 'OTA_TRIAL',
} as const satisfies Record<string, string | Record<Slot, string>>;

/** Every state variable name, for checks against the script. */
export const STATE_VAR_NAMES: readonly string[] = [
  BOOT_VARS.order, BOOT_VARS.left.A, BOOT_VARS.left.B, BOOT_VARS.bootCount, BOOT_VARS.exhausted, BOOT_VARS.trial,
];

/** Kernel command line parameters the script passes. */
export const CMDLINE = {
  /** The slot U-Boot booted: `ota.slot=A`. */
  slot: 'ota.slot',
  /** The value of OTA_BOOT_COUNT U-Boot saved in this boot: `ota.boot=1f`. */
  bootCount: 'ota.boot',
} as const;

/**
 * Board settings the script reads (lowercase `ota_*`), set per board by a
 * prologue of `setenv` lines (board-configs/*.json `script`) or by the env.
 */
export const BOARD_SCRIPT_VARS = [
  'ota_env', 'ota_env_iface', 'ota_env_devpart', 'ota_env_file', 'ota_env_size',
  'ota_tries', 'ota_dev_iface', 'ota_dev_num', 'ota_part_A', 'ota_part_B', 'ota_root_A', 'ota_root_B',
  'ota_bootargs', 'ota_load', 'ota_boot',
] as const;

/**
 * Board settings boot.cmd never reads, run by a board's own settings: `ota_fdt_load` (the Raspberry Pi's
 * `ota_load` ends with `run ota_fdt_load`: the slot's device tree, else the firmware's, into `ota_fdt`).
 */
export const BOARD_HELPER_VARS = ['ota_fdt_load'] as const;

/** Largest try count: U-Boot's setexpr (hex) and test (decimal) agree only on one digit. */
export const MAX_TRIES = 9;
/** Try count the script and the agent use unless configured otherwise. */
export const DEFAULT_TRIES = 3;
