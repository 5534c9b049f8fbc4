/**
 * A simulated power-on of a file-backed device: U-Boot's part is played by the
 * boot-script simulator running the real boot.cmd on the env the agent uses
 * (its `saveenv` becomes one env write), following resets until a kernel boots;
 * the kernel's part is the command line file the agent reads (`ota.slot=`,
 * `ota.boot=`).
 */
import { writeFile } from 'node:fs/promises';
import { simulateBoot } from '../boot/index.js';
import type { BootRun, BootWorld } from '../boot/index.js';
import type { EnvVars, UBootEnv } from '../bootenv/index.js';
import { OtaError, withContext } from '../errors/index.js';

/** U-Boot's built-in env on QEMU virt (what the script reads from it), used as the default env. */
export const SIM_DEFAULT_ENV: EnvVars = new Map([
  ['arch', 'arm'], ['cpu', 'armv8'], ['board', 'qemu-arm'],
  ['kernel_addr_r', '0x40400000'], ['ramdisk_addr_r', '0x44000000'], ['scriptaddr', '0x40200000'],
  ['fdtcontroladdr', '7ed6e300'], ['bootcmd', 'run distro_bootcmd'],
]);

/** What distro boot sets before it sources boot.scr from the boot partition. */
export const SIM_DISTRO_BOOT_VARS: EnvVars = new Map([['devtype', 'virtio'], ['devnum', '0'], ['distro_bootpart', '1']]);

/** One simulated power-on. */
export interface PowerOn {
  /** The slot the kernel was booted from. */
  readonly slot: string;
  /** The kernel command line written. */
  readonly bootargs: string;
  /** Runs of the script (more than one when it reset). */
  readonly runs: readonly BootRun[];
}

/** The runs of one power-on, computed without I/O. */
export interface PowerOnRuns {
  /** The kernel booted (its slot null when the script named none), or null when none did: `failure` says why. */
  readonly kernel: { readonly slot: string | null; readonly bootargs: string } | null;
  readonly failure: string;
  /** Each run of the script in order; each started from the env the one before saved (`nativeEnv`). */
  readonly runs: readonly BootRun[];
}

const MAX_RESETS = 20;

/**
 * The one model of a power-on: U-Boot runs `script` on the env it finds (`stored`; null: none valid),
 * and again after each `reset`, each time on what the last run saved, until a kernel boots. `world`
 * changes the defaults (QEMU virt's built-in env, distro boot's variables). Pure, and it does not throw
 * for a script that boots nothing: storing each run's env and writing the command line are the caller's.
 */
export function bootRuns(script: string, stored: EnvVars | null, world: Partial<Omit<BootWorld, 'nativeEnv'>> = {}, maxResets = MAX_RESETS): PowerOnRuns {
  const runs: BootRun[] = [];
  let current = stored;
  for (let i = 0; i <= maxResets; i++) {
    const run = simulateBoot(script, { defaultEnv: SIM_DEFAULT_ENV, bootVars: SIM_DISTRO_BOOT_VARS, ...world, nativeEnv: current });
    runs.push(run);
    if (run.saves > 0 && run.nativeEnv !== null) current = run.nativeEnv;
    const outcome = run.outcome;
    if (outcome.kind === 'boot') return { kernel: { slot: outcome.slot, bootargs: outcome.bootargs }, failure: '', runs };
    if (outcome.kind !== 'reset') {
      return { kernel: null, failure: `boot script ended with ${outcome.kind} instead of booting a slot: ${run.output.slice(-3).join(' / ')}`, runs };
    }
  }
  return { kernel: null, failure: `no kernel booted after ${maxResets} resets of the boot script`, runs };
}

/** Power on the file-backed device: the runs of `bootRuns` on `env` (each run's `saveenv` one env write), then the command line to `cmdlinePath`. */
export async function powerOn(env: UBootEnv, cmdlinePath: string, script: string): Promise<PowerOn> {
  let before = await readOrNull(env);
  const booted = bootRuns(script, before);
  for (const run of booted.runs) {
    if (run.saves === 0 || run.nativeEnv === null) continue;
    await save(env, before, run.nativeEnv);
    before = run.nativeEnv;
  }
  const kernel = booted.kernel;
  if (kernel === null) throw new OtaError('SIM_BOOT', booted.failure);
  if (kernel.slot === null) throw new OtaError('SIM_BOOT', 'boot script booted a kernel without naming a slot: check the board settings');
  await writeFile(cmdlinePath, `${kernel.bootargs}\n`).catch((err: unknown) => { throw withContext(`simulated kernel command line ${cmdlinePath}`, err); });
  return { slot: kernel.slot, bootargs: kernel.bootargs, runs: booted.runs };
}

async function readOrNull(env: UBootEnv): Promise<EnvVars | null> {
  try {
    return await env.read();
  } catch (err) {
    if (err instanceof OtaError && err.code === 'ENV_NO_VALID_COPY') return null;
    throw err;
  }
}

/** `saveenv`: write the whole env the script ended with, in one write. */
async function save(env: UBootEnv, before: EnvVars | null, after: EnvVars): Promise<void> {
  const changes: Record<string, string | null> = {};
  for (const [k, v] of after) if (before?.get(k) !== v) changes[k] = v;
  for (const k of before?.keys() ?? []) if (!after.has(k)) changes[k] = null;
  await env.update(changes, { defaultsWhenInvalid: new Map() });
}
