/**
 * A simulated device for boot-layer tests: a BootEnv, a kernel command line
 * file and the real bootloader/boot.cmd run by the simulator on each
 * `powerOn()`, so tests can arm, reboot, commit and roll back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BootEnv, EnvVars } from '../../agent/src/bootenv/env.js';
import { simulateBoot } from '../../agent/src/boot/index.js';
import type { BootRun, BootWorld } from '../../agent/src/boot/index.js';

const repoRoot = new URL('../../../', import.meta.url);

/** The text of bootloader/boot.cmd (the tests run from build/test/...). */
export function bootScript(): string {
  return readFileSync(new URL('bootloader/boot.cmd', repoRoot), 'utf8');
}

/** The repository root as a path. */
export function repoPath(...parts: string[]): string {
  return join(fileURLToPath(repoRoot), ...parts);
}

/** U-Boot's built-in env on QEMU virt (the values that matter to the script). */
export const QEMU_DEFAULT_ENV: EnvVars = new Map([
  ['arch', 'arm'], ['cpu', 'armv8'], ['board', 'qemu-arm'],
  ['kernel_addr_r', '0x40400000'], ['ramdisk_addr_r', '0x44000000'], ['scriptaddr', '0x40200000'],
  ['fdtcontroladdr', '7ed6e300'], ['bootcmd', 'run distro_bootcmd'],
]);

/** What distro boot sets before it sources boot.scr from virtio 0:1. */
export const DISTRO_BOOT_VARS: EnvVars = new Map([['devtype', 'virtio'], ['devnum', '0'], ['distro_bootpart', '1']]);

/** A device whose env lives in a BootEnv (native placement) and whose kernel command line is a file. */
export class SimDevice {
  /** Runs of the boot script so far, oldest first. */
  readonly runs: BootRun[] = [];

  constructor(readonly env: BootEnv & { vars: Map<string, string> }, readonly cmdlinePath: string, readonly script = bootScript(), readonly world: Partial<BootWorld> = {}) {}

  /** Power on: run the script until it boots a kernel (following resets); returns the slot booted. */
  powerOn(maxResets = 50): string | null {
    for (let i = 0; i <= maxResets; i++) {
      const run = simulateBoot(this.script, {
        defaultEnv: QEMU_DEFAULT_ENV, bootVars: DISTRO_BOOT_VARS, ...this.world,
        nativeEnv: this.env.vars.size === 0 ? null : this.env.vars,
      });
      this.runs.push(run);
      this.env.vars = new Map(run.nativeEnv ?? []);
      if (run.outcome.kind === 'boot') {
        writeFileSync(this.cmdlinePath, `${run.outcome.bootargs}\n`);
        return run.outcome.slot;
      }
      if (run.outcome.kind !== 'reset') throw new Error(`boot script ended with ${run.outcome.kind}`);
    }
    throw new Error(`no kernel booted after ${maxResets} resets`);
  }
}
