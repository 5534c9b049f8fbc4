/**
 * A simulated power-on of a file-backed device: U-Boot's part is played by the
 * boot-script simulator running the real boot.cmd on the env the agent uses
 * (its `saveenv` becomes one env write), following resets until a kernel boots;
 * the kernel's part is the command line file the agent reads (`ota.slot=`,
 * `ota.boot=`).
 */
import { writeFile } from 'node:fs/promises';
import { simulateBoot } from '../boot/index.js';
import type { BootRun } from '../boot/index.js';
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

const MAX_RESETS = 20;

/** Run the boot script on `env` until it boots a kernel; write the command line to `cmdlinePath`. */
export async function powerOn(env: UBootEnv, cmdlinePath: string, script: string): Promise<PowerOn> {
  const runs: BootRun[] = [];
  for (let i = 0; i <= MAX_RESETS; i++) {
    const before = await readOrNull(env);
    const run = simulateBoot(script, { nativeEnv: before, defaultEnv: SIM_DEFAULT_ENV, bootVars: SIM_DISTRO_BOOT_VARS });
    runs.push(run);
    if (run.saves > 0 && run.nativeEnv !== null) await save(env, before, run.nativeEnv);
    const outcome = run.outcome;
    if (outcome.kind === 'boot') {
      if (outcome.slot === null) throw new OtaError('SIM_BOOT', 'boot script booted a kernel without naming a slot: check the board settings');
      await writeFile(cmdlinePath, `${outcome.bootargs}\n`).catch((err: unknown) => { throw withContext(`simulated kernel command line ${cmdlinePath}`, err); });
      return { slot: outcome.slot, bootargs: outcome.bootargs, runs };
    }
    if (outcome.kind !== 'reset') {
      throw new OtaError('SIM_BOOT', `boot script ended with ${outcome.kind} instead of booting a slot: ${run.output.slice(-3).join(' / ')}`);
    }
  }
  throw new OtaError('SIM_BOOT', `no kernel booted after ${MAX_RESETS} resets of the boot script`);
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
