/**
 * Storage for env copies on devices that need more than a plain write:
 * - eMMC boot partitions (`mmcblkXbootY`): read-only until sysfs `force_ro` is 0; we write 0 before
 *   a write and put the previous value back after (as libubootenv does).
 * - MTD NOR flash (`/dev/mtdN`): flash must be erased before it is written, and the erase ioctl
 *   (MEMERASE) is out of reach of Node without native code. We write the copy through the kernel's
 *   `mtdblock` driver (`/dev/mtdblockN`, CONFIG_MTD_BLOCK), which reads, erases and rewrites the
 *   erase block and flushes it on fsync; the obsolete mark (flags 1 -> 0, no erase needed) goes
 *   straight to `/dev/mtdN`, as U-Boot does, in whole bus words (see MtdNorRegion.writeFlags).
 *   NAND is refused: mtdblock has no bad-block handling.
 * The sysfs root is configurable so tests point it at a temp dir.
 */
import { basename, dirname, join } from 'node:path';
import { OtaError, describe, errnoCode, withContext } from '../errors/index.js';
import { FLAGS_OFFSET_BYTES } from './codec.js';
import { FileRegion, nodeFileIo, type CopyStorage, type FileIo } from './storage.js';

/** `mmcblk0boot1` from `/dev/mmcblk0boot1` or `/dev/block/mmcblk0boot1`, else undefined. */
export function emmcBootName(device: string): string | undefined {
  const name = basename(device);
  return /^mmcblk\d+boot\d+$/.test(name) ? name : undefined;
}

/** The MTD number of `/dev/mtdN`, else undefined. */
export function mtdNumber(device: string): number | undefined {
  const m = /^mtd(\d+)$/.exec(basename(device));
  return m === null ? undefined : Number(m[1]);
}

/** A region of an eMMC boot partition: `force_ro` is lifted around each write. */
export class EmmcBootRegion implements CopyStorage {
  readonly description: string;
  private readonly region: FileRegion;
  private readonly forceRoPath: string;

  constructor(device: string, offsetBytes: number, sizeBytes: number, sysfsRoot: string, private readonly io: FileIo = nodeFileIo) {
    this.region = new FileRegion(device, offsetBytes, sizeBytes, io);
    this.description = this.region.description;
    this.forceRoPath = join(sysfsRoot, 'class', 'block', basename(device), 'force_ro');
  }

  read(): Promise<Uint8Array> {
    return this.region.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.unprotected(() => this.region.write(bytes));
  }

  writeFlags(flags: number): Promise<void> {
    return this.unprotected(() => this.region.writeFlags(flags));
  }

  private async unprotected(work: () => Promise<void>): Promise<void> {
    const previous = await this.readForceRo();
    if (previous !== undefined && previous !== '0') await this.setForceRo('0');
    try {
      await work();
    } finally {
      if (previous !== undefined && previous !== '0') await this.setForceRo(previous);
    }
  }

  /** The current `force_ro` value; undefined when the attribute does not exist (nothing to lift). */
  private async readForceRo(): Promise<string | undefined> {
    try {
      return (await this.io.readText(this.forceRoPath)).trim();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw withContext(`boot env (${this.description}): read ${this.forceRoPath}`, err);
    }
  }

  private async setForceRo(value: string): Promise<void> {
    try {
      await this.io.writeText(this.forceRoPath, value);
    } catch (err) {
      throw withContext(`boot env (${this.description}): write ${value} to ${this.forceRoPath} (root needed)`, err);
    }
  }
}

/** An env copy on MTD NOR flash: read and obsolete-mark through `/dev/mtdN`, copy writes through `/dev/mtdblockN`. */
export class MtdNorRegion implements CopyStorage {
  readonly description: string;
  private readonly direct: FileRegion;
  private readonly block: FileRegion;

  constructor(device: string, offsetBytes: number, sizeBytes: number, io: FileIo = nodeFileIo) {
    const n = mtdNumber(device);
    if (n === undefined) throw new OtaError('ENV_CONFIG', `${device} is not an MTD character device (/dev/mtdN)`);
    this.direct = new FileRegion(device, offsetBytes, sizeBytes, io);
    this.block = new FileRegion(join(dirname(device), `mtdblock${n}`), offsetBytes, sizeBytes, io);
    this.description = this.direct.description;
  }

  read(): Promise<Uint8Array> {
    return this.direct.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.block.write(bytes);
  }

  /**
   * The obsolete mark, written as the copy's first 8 bytes (CRC, flags, 3 data bytes) read back from the
   * flash with only the flags byte changed. On NOR, programming a bit to the value it holds changes
   * nothing, so a real chip sees the same one-byte change. Writing the flags byte alone relies on that:
   * Linux's CFI driver pads a partial bus word with 0xFF, and an emulated flash that stores words as
   * given (QEMU's pflash) then erases the bytes beside the flag; QEMU 10 also refuses a buffer write of
   * a single bus word, so the write fails with ETIME. A flash env copy starts a sector (U-Boot erases
   * whole sectors), so these 8 bytes are whole words on every bus up to 64 bits wide, and two or more
   * words up to 32 bits; at another offset a real chip is still right, as with a single byte.
   */
  async writeFlags(flags: number): Promise<void> {
    const head = await this.direct.readAt(0, FLAGS_WRITE_BYTES);
    head[FLAGS_OFFSET_BYTES] = flags & 0xff;
    await this.direct.writeAt(head, 0, 'write flags byte', { mtdCharDevice: true });
  }
}

/** How many bytes from the copy's start the obsolete mark writes on NOR: see MtdNorRegion.writeFlags. */
const FLAGS_WRITE_BYTES = 8;

/** The flash type of MTD device `n` from sysfs (`nor`, `nand`, `mlc-nand`...). */
export async function mtdType(n: number, sysfsRoot: string, io: FileIo = nodeFileIo): Promise<string> {
  const path = join(sysfsRoot, 'class', 'mtd', `mtd${n}`, 'type');
  try {
    return (await io.readText(path)).trim();
  } catch (err) {
    throw new OtaError('ENV_CONFIG', `boot env: cannot tell the flash type of mtd${n}: read ${path}: ${describe(err)}`, { cause: err });
  }
}
