/**
 * A simulated device for boot-layer tests: a BootEnv, a kernel command line
 * file and the real bootloader/boot.cmd run by the simulator on each
 * `powerOn()`, so tests can arm, reboot, commit and roll back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BootEnv } from '../../agent/src/bootenv/env.js';
import type { BootRun, BootWorld } from '../../agent/src/boot/index.js';
import { bootRuns } from '../../agent/src/sim/index.js';

const repoRoot = new URL('../../../', import.meta.url);

/** The text of bootloader/boot.cmd (the tests run from build/test/...). */
export function bootScript(): string {
  return readFileSync(new URL('bootloader/boot.cmd', repoRoot), 'utf8');
}

/** The repository root as a path. */
export function repoPath(...parts: string[]): string {
  return join(fileURLToPath(repoRoot), ...parts);
}

/** U-Boot's built-in env on QEMU virt, and what distro boot sets before it sources boot.scr: the simulated device's. */
export { SIM_DEFAULT_ENV as QEMU_DEFAULT_ENV, SIM_DISTRO_BOOT_VARS as DISTRO_BOOT_VARS } from '../../agent/src/sim/index.js';

/** A device whose env lives in a BootEnv (native placement) and whose kernel command line is a file. */
export class SimDevice {
  /** Runs of the boot script so far, oldest first. */
  readonly runs: BootRun[] = [];

  constructor(readonly env: BootEnv & { vars: Map<string, string> }, readonly cmdlinePath: string, readonly script = bootScript(), readonly world: Partial<BootWorld> = {}) {}

  /** Power on (the agent's one model, `bootRuns`): run the script until it boots a kernel, following resets; returns the slot booted. */
  powerOn(maxResets = 50): string | null {
    const booted = bootRuns(this.script, this.env.vars.size === 0 ? null : this.env.vars, this.world, maxResets);
    this.runs.push(...booted.runs);
    const last = booted.runs.at(-1);
    if (last !== undefined) this.env.vars = new Map(last.nativeEnv ?? []);
    if (booted.kernel === null) throw new Error(booted.failure);
    writeFileSync(this.cmdlinePath, `${booted.kernel.bootargs}\n`);
    return booted.kernel.slot;
  }
}
