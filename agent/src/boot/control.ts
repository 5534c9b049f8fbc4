/**
 * The boot layer's one interface: RAUC's bootchooser verbs over two slots.
 * Everything else (commit after a health check, rollback) is built on these.
 */
import type { Slot } from './vars.js';

/** What the bootloader will do with a slot. */
export type SlotState =
  /** Committed: booted when primary; `triesLeft` counts down on each boot until the next markGood. */
  | { readonly kind: 'good'; readonly triesLeft: number }
  /**
   * Armed for a trial boot by setPrimary and not yet committed. `triesLeft` 0:
   * if this slot is the booted one this is its last try, otherwise the trial failed.
   */
  | { readonly kind: 'trying'; readonly triesLeft: number }
  /** Not in the boot order, or no tries left: the bootloader skips it. */
  | { readonly kind: 'bad' };

/** A/B boot control (implementations: UBootControl on a U-Boot env). */
export interface BootControl {
  /** The slot the running system was booted from. */
  booted(): Promise<Slot>;
  /** The slot the bootloader will boot next. */
  primary(): Promise<Slot>;
  /** The bootloader's view of `slot`. */
  state(slot: Slot): Promise<SlotState>;
  /** Arm a trial boot of `slot`: it becomes primary with a limited number of tries. */
  setPrimary(slot: Slot): Promise<void>;
  /** Commit `slot`: its tries are refilled and its trial, if any, ends. */
  markGood(slot: Slot): Promise<void>;
  /** Take `slot` out of the boot order. */
  markBad(slot: Slot): Promise<void>;
}
