/**
 * The boot script on the boot partition, updated with two names (docs/boot-partition-updates.md).
 * U-Boot's distro boot tries `boot.scr.uimg`, then `boot.scr` (boot_scripts); `source` refuses a script
 * image whose header or data CRC is wrong, and distro boot then tries the next name (`SCRIPT FAILED:
 * continuing...`; Debian's rpi_3 U-Boot in QEMU, test/qemu-arm/raspi.test.ts). Each script is still written
 * under a temp name, fsynced, renamed into place and the directory fsynced, so U-Boot never meets a partial
 * one: distro boot's `load ...; source ${scriptaddr}` runs whatever is in RAM when the load reads nothing
 * (an empty file), which the CRC covers only by luck.
 * - `stage` (before arming): the release's script becomes boot.scr.uimg; boot.scr keeps the committed one.
 * - `commit` (after the trial slot is marked good): boot.scr gets the new script the same way, then
 *   boot.scr.uimg goes. A cut leaves the new script under one name or both.
 * - `discard` (rollback): boot.scr.uimg goes; boot.scr is the committed script, never touched.
 * At rest only boot.scr exists and holds the committed release's script.
 * Every step is idempotent, so the state machine may run it again after a power cut.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, readFileIfExists } from '../durable/index.js';
import { OtaError, withContext } from '../errors/index.js';
import { isValidScriptImage, parseScriptImage } from './script-image.js';

/** The committed script: distro boot's second name. */
export const BOOT_SCRIPT = 'boot.scr';
/** The script on trial: distro boot's first name. */
export const BOOT_SCRIPT_NEXT = 'boot.scr.uimg';
/** Where a script is written before it is renamed into place: U-Boot never reads it. */
export const BOOT_SCRIPT_TEMP = '.boot.scr.tmp';

/**
 * The file operations on the boot partition's directory, one durable step each: the writer's only
 * way to the media, so tests can cut power between (and inside) any two of them.
 */
export interface BootDir {
  /** The bytes of `name`, or undefined when there is none. */
  read(name: string): Promise<Buffer | undefined>;
  /** Create or replace `name` with `bytes` and fsync the file (its directory entry is not yet durable). */
  write(name: string, bytes: Buffer): Promise<void>;
  /** Rename `from` over `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Remove `name` when present. */
  remove(name: string): Promise<void>;
  /** fsync the directory: renames, creates and removals before it are durable. */
  syncDir(): Promise<void>;
}

/** Writes boot.scr and boot.scr.uimg through a {@link BootDir}. */
export class BootScripts {
  constructor(private readonly dir: BootDir, private readonly where: string) {}

  /** Write `script` (a checked script image) as boot.scr.uimg, keeping boot.scr. */
  async stage(script: Buffer): Promise<void> {
    parseScriptImage(script, `boot script for ${this.where}`);
    await this.step(`stage ${BOOT_SCRIPT_NEXT}`, async () => {
      if ((await this.dir.read(BOOT_SCRIPT_NEXT))?.equals(script) === true) return;
      await this.replace(BOOT_SCRIPT_NEXT, script);
    });
  }

  /**
   * The trial slot is committed: a valid boot.scr.uimg becomes boot.scr, then goes. One that is not a
   * valid script (damaged on the media) is removed and reported, boot.scr staying. Nothing staged: nothing to do.
   */
  async commit(): Promise<'promoted' | 'none' | 'torn'> {
    return this.step(`promote ${BOOT_SCRIPT_NEXT} to ${BOOT_SCRIPT}`, async () => {
      const next = await this.dir.read(BOOT_SCRIPT_NEXT);
      if (next === undefined) return 'none';
      const valid = isValidScriptImage(next);
      if (valid && (await this.dir.read(BOOT_SCRIPT))?.equals(next) !== true) await this.replace(BOOT_SCRIPT, next);
      await this.dir.remove(BOOT_SCRIPT_NEXT);
      await this.dir.syncDir();
      return valid ? 'promoted' : 'torn';
    });
  }

  /** The trial is over without a commit: boot.scr.uimg goes, boot.scr (the committed script) stays. */
  async discard(): Promise<void> {
    await this.step(`remove ${BOOT_SCRIPT_NEXT}`, async () => {
      await this.dir.remove(BOOT_SCRIPT_TEMP);
      await this.dir.remove(BOOT_SCRIPT_NEXT);
      await this.dir.syncDir();
    });
  }

  private async replace(name: string, bytes: Buffer): Promise<void> {
    await this.dir.write(BOOT_SCRIPT_TEMP, bytes);
    await this.dir.rename(BOOT_SCRIPT_TEMP, name);
    await this.dir.syncDir();
  }

  private async step<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof OtaError && err.code === 'BOOT_SCRIPT_IMAGE') throw err;
      throw withContext(`boot scripts (${this.where}): ${what}`, err, 'BOOT_SCRIPT_WRITE');
    }
  }
}

/** The boot partition mounted at `path` (e.g. /boot/firmware, vfat), as a {@link BootDir}. */
export function mountedBootDir(path: string): BootDir {
  return {
    read: (name) => readFileIfExists(join(path, name)),
    async write(name, bytes) {
      const fh = await fsp.open(join(path, name), 'w', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    rename: (from, to) => fsp.rename(join(path, from), join(path, to)),
    remove: (name) => fsp.rm(join(path, name), { force: true }),
    syncDir: () => fsyncDir(path),
  };
}
