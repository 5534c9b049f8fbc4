/**
 * BootControl on a U-Boot environment, for bootloader/boot.cmd's RAUC-style
 * counters. Each operation is one read and one atomic env update. The booted
 * slot comes from the kernel command line the script wrote (`ota.slot=`).
 * Writes are refused unless the canary the script saves on every boot
 * (OTA_BOOT_COUNT, also passed as `ota.boot=`) reads back: a wrong env offset,
 * size or device in fw_env.config shows up here instead of as a silent
 * update that U-Boot never sees.
 */
import { readFile } from 'node:fs/promises';
import { OtaError, withContext } from '../errors/index.js';
import type { BootEnv, EnvChanges, EnvVars } from '../bootenv/env.js';
import type { BootControl, SlotState } from './control.js';
import { BOOT_VARS, CMDLINE, DEFAULT_TRIES, MAX_TRIES, SLOTS } from './vars.js';
import type { Slot } from './vars.js';

/** Where UBootControl finds its env and the kernel command line. */
export interface UBootControlOptions {
  /** The env U-Boot reads (from fw_env.config). */
  readonly env: BootEnv;
  /** The kernel command line, normally `/proc/cmdline`. */
  readonly cmdlinePath: string;
  /** Tries given to a slot by setPrimary and markGood: 1..9 (default 3). */
  readonly tries?: number;
}

/** The parameters the boot script put on the kernel command line. */
export interface CmdlineBoot { readonly slot: Slot | null; readonly bootCount: string | null }

/** Parse `ota.slot=` and `ota.boot=` from a kernel command line. */
export function parseCmdline(text: string): CmdlineBoot {
  let slot: Slot | null = null;
  let bootCount: string | null = null;
  for (const token of text.trim().split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq < 0) continue;
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === CMDLINE.slot) slot = SLOTS.find((s) => s === value) ?? null;
    if (key === CMDLINE.bootCount) bootCount = value;
  }
  return { slot, bootCount };
}

/** The slots in BOOT_ORDER, in order, ignoring anything that is not a slot name (as the script does). */
export function bootOrder(vars: EnvVars): Slot[] {
  const words = (vars.get(BOOT_VARS.order) ?? '').split(/\s+/);
  const order: Slot[] = [];
  for (const w of words) {
    const slot = SLOTS.find((s) => s === w);
    if (slot !== undefined && !order.includes(slot)) order.push(slot);
  }
  return order;
}

/** Tries left for `slot`, read as the script's `test` reads it (decimal digits; anything else is 0). */
export function triesLeft(vars: EnvVars, slot: Slot): number {
  const digits = /^\d+/.exec(vars.get(BOOT_VARS.left[slot]) ?? '');
  return digits === null ? 0 : Number(digits[0]);
}

/** The bootloader's view of `slot` in `vars`. */
export function slotState(vars: EnvVars, slot: Slot): SlotState {
  if (!bootOrder(vars).includes(slot)) return { kind: 'bad' };
  const left = triesLeft(vars, slot);
  if (vars.get(BOOT_VARS.trial) === slot) return { kind: 'trying', triesLeft: left };
  return left > 0 ? { kind: 'good', triesLeft: left } : { kind: 'bad' };
}

/** The slot the script will boot next: the first in BOOT_ORDER with tries left; if none, it refills and boots the first. */
export function nextBootSlot(vars: EnvVars): Slot {
  const order = bootOrder(vars);
  return order.find((s) => triesLeft(vars, s) > 0) ?? order[0] ?? 'A';
}

/** BootControl on a U-Boot env and bootloader/boot.cmd. */
export class UBootControl implements BootControl {
  private readonly env: BootEnv;
  private readonly cmdlinePath: string;
  private readonly tries: string;

  constructor(options: UBootControlOptions) {
    const tries = options.tries ?? DEFAULT_TRIES;
    if (!Number.isInteger(tries) || tries < 1 || tries > MAX_TRIES) {
      throw new OtaError('BOOT_CONFIG', `boot tries ${tries} is out of range: use 1..${MAX_TRIES} (U-Boot's setexpr and test agree only on one digit)`);
    }
    this.env = options.env;
    this.cmdlinePath = options.cmdlinePath;
    this.tries = String(tries);
  }

  /** The `ota.*` parameters of the running kernel's command line. */
  async cmdline(): Promise<CmdlineBoot> {
    try {
      return parseCmdline(await readFile(this.cmdlinePath, 'utf8'));
    } catch (err) {
      throw withContext(`kernel command line (${this.cmdlinePath})`, err);
    }
  }

  async booted(): Promise<Slot> {
    const { slot } = await this.cmdline();
    if (slot === null) {
      throw new OtaError('BOOT_SLOT_UNKNOWN', `kernel command line (${this.cmdlinePath}) has no ${CMDLINE.slot}=A|B: boot through bootloader/boot.cmd, or fix the board's boot script`);
    }
    return slot;
  }

  async primary(): Promise<Slot> {
    return nextBootSlot(await this.read('find the primary slot'));
  }

  async state(slot: Slot): Promise<SlotState> {
    return slotState(await this.read(`read the state of slot ${slot}`), slot);
  }

  async setPrimary(slot: Slot): Promise<void> {
    const action = `arm a trial boot of slot ${slot}`;
    const vars = await this.readCheckedCanary(action);
    const order = [slot, ...bootOrder(vars).filter((s) => s !== slot)];
    await this.write(action, { [BOOT_VARS.order]: order.join(' '), [BOOT_VARS.left[slot]]: this.tries, [BOOT_VARS.trial]: slot });
  }

  async markGood(slot: Slot): Promise<void> {
    const action = `mark slot ${slot} good`;
    const vars = await this.readCheckedCanary(action);
    const order = bootOrder(vars);
    const changes: Record<string, string | null> = { [BOOT_VARS.left[slot]]: this.tries };
    if (!order.includes(slot)) changes[BOOT_VARS.order] = [...order, slot].join(' ');
    if (vars.get(BOOT_VARS.trial) === slot) changes[BOOT_VARS.trial] = null;
    await this.write(action, changes);
  }

  async markBad(slot: Slot): Promise<void> {
    const action = `mark slot ${slot} bad`;
    const vars = await this.readCheckedCanary(action);
    // An empty value is no variable to U-Boot: with no slot left, BOOT_ORDER goes, and the script restores "A B".
    const order = bootOrder(vars).filter((s) => s !== slot).join(' ');
    const changes: Record<string, string | null> = { [BOOT_VARS.order]: order === '' ? null : order, [BOOT_VARS.left[slot]]: '0' };
    if (vars.get(BOOT_VARS.trial) === slot) changes[BOOT_VARS.trial] = null;
    await this.write(action, changes);
  }

  // The env's own errors name the env; the context added here is what the agent was doing.
  private async read(action: string): Promise<EnvVars> {
    try {
      return await this.env.read();
    } catch (err) {
      throw withContext(action, err);
    }
  }

  private async write(action: string, changes: EnvChanges): Promise<void> {
    try {
      await this.env.update(changes);
    } catch (err) {
      throw withContext(action, err);
    }
  }

  /** The env, after checking it holds the canary of the boot that is running (Mender's env canary). */
  private async readCheckedCanary(action: string): Promise<EnvVars> {
    const vars = await this.read(action);
    const canary = vars.get(BOOT_VARS.bootCount);
    const where = `boot env (${this.env.description})`;
    if (canary === undefined) {
      throw new OtaError('BOOT_ENV_CANARY', `${where}: refusing to ${action}: ${BOOT_VARS.bootCount}, which the boot script saves on every boot, is missing; this is not the env U-Boot uses (check the device, offset and size in fw_env.config) or the device did not boot through bootloader/boot.cmd`);
    }
    const { bootCount } = await this.cmdline();
    if (bootCount !== null && bootCount !== canary) {
      throw new OtaError('BOOT_ENV_CANARY', `${where}: refusing to ${action}: U-Boot passed ${CMDLINE.bootCount}=${bootCount} but the env holds ${BOOT_VARS.bootCount}=${canary}; this is not the env U-Boot saved (check the device, offset and size in fw_env.config)`);
    }
    return vars;
  }
}
