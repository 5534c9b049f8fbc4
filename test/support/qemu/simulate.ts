/**
 * The boot-script simulator (agent/src/boot/simulator.ts) run on the same script text
 * and the same stored env as a real U-Boot run of the emulated board, so a QEMU test
 * can check that the simulator the unit tests trust predicts what real U-Boot did.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_VAR_NAMES, fileKey, simulateBoot, type BootWorld } from '../../../agent/src/boot/index.js';
import type { EnvVars } from '../../../agent/src/bootenv/index.js';
import { DISTRO_BOOT_VARS, QEMU_DEFAULT_ENV } from '../boot-device.js';
import type { ImageLayout } from './image.js';

/** What the simulator predicts for consecutive power-ons. */
export interface SimulatedRuns {
  /** The slot each run boots (null: the run resets or falls through without booting). */
  slots: (string | null)[];
  /** The stored env after the last run. */
  stored: EnvVars;
}

/** The script text compiled into the image's boot.scr (board prologue + bootloader/boot.cmd). */
export function imageBootScript(layout: ImageLayout): string {
  return readFileSync(join(layout.dir, 'boot.cmd'), 'utf8');
}

/** Only the variables the boot script and the agent keep as state (BOOT_ORDER, BOOT_x_LEFT, OTA_*). */
export function stateVars(vars: EnvVars): Map<string, string> {
  return new Map([...vars].filter(([k]) => STATE_VAR_NAMES.includes(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Runs the image's boot script `runs` times, each starting from what the previous one saved;
 * `stored` is the env U-Boot finds first (the flash env, or the FAT's uboot.env; null: a blank flash).
 */
export function simulateRuns(layout: ImageLayout, stored: EnvVars | null, runs: number): SimulatedRuns {
  const script = imageBootScript(layout);
  const envFile = fileKey('virtio', '0:1', layout.env.file);
  const slots: (string | null)[] = [];
  const ulongBits = layout.arch === 'arm64' ? 64 : 32;  // setexpr's width
  let current: EnvVars | null = stored;
  for (let i = 0; i < runs; i += 1) {
    const world: BootWorld = layout.env.placement === 'native'
      ? { nativeEnv: current, defaultEnv: QEMU_DEFAULT_ENV, bootVars: DISTRO_BOOT_VARS, ulongBits }
      : {
        nativeEnv: null, defaultEnv: QEMU_DEFAULT_ENV, bootVars: DISTRO_BOOT_VARS, ulongBits,
        files: current === null ? new Map() : new Map([[envFile, { kind: 'env', vars: current, sizeBytes: layout.env.sizeBytes }]]),
      };
    const run = simulateBoot(script, world);
    slots.push(run.outcome.kind === 'boot' ? run.outcome.slot : null);
    const saved = layout.env.placement === 'native' ? run.nativeEnv : run.files.get(envFile);
    if (saved === null || saved === undefined || ('kind' in saved && saved.kind !== 'env')) {
      throw new Error(`simulated run ${i + 1} left no env to boot from`);
    }
    current = 'kind' in saved ? saved.vars : saved;
  }
  return { slots, stored: current ?? new Map() };
}
