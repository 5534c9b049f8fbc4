/**
 * The slot table from the agent config: which file or block device holds each
 * slot, its size, and the one rule every writer goes through: the booted slot is
 * never a write target.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { OtaError, withContext } from '../errors/index.js';
import { DEFAULT_MOUNTINFO_PATH, DEFAULT_SYSFS_ROOT, fileIdentity, mountPointsOf, realSizeBytes, sameStorage } from '../files/index.js';
import type { Slot } from '../boot/index.js';
import type { SlotConfig } from '../config/index.js';

/** A slot an update may write: not the booted one, with its size known. */
export interface SlotTarget {
  readonly slot: Slot;
  readonly device: string;
  readonly sizeBytes: number;
}

/** The other slot of the A/B pair. */
export function otherSlot(slot: Slot): Slot {
  return slot === 'A' ? 'B' : 'A';
}

/** Where the slot table looks at the running system (from the agent config; tests use temp files). */
export interface SlotTableOptions {
  readonly sysfsRoot?: string;
  readonly mountinfoPath?: string;
}

/** Slots by name, from the config. */
export class SlotTable {
  private readonly sysfsRoot: string;
  private readonly mountinfoPath: string;

  constructor(private readonly slots: Readonly<Record<Slot, SlotConfig>>, options: SlotTableOptions = {}) {
    this.sysfsRoot = options.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
    this.mountinfoPath = options.mountinfoPath ?? DEFAULT_MOUNTINFO_PATH;
  }

  /** The device (file or block device) of `slot`. */
  device(slot: Slot): string {
    return this.slots[slot].device;
  }

  /**
   * The size of `slot`: the file's or block device's real size, or the config's `sizeBytes` when smaller;
   * a `sizeBytes` larger than the device is refused (an image would grow a slot file past its size).
   */
  async sizeBytes(slot: Slot): Promise<number> {
    const { device, sizeBytes } = this.slots[slot];
    if (await fileIdentity(device, `slot ${slot}`) === undefined) {
      throw new OtaError('SLOT_MISSING', `slot ${slot} (${device}) does not exist: check slots.${slot}.device in the agent config`);
    }
    const real = await realSizeBytes(device, `slot ${slot}`, this.sysfsRoot);
    if (sizeBytes === undefined) return real;
    if (sizeBytes > real) {
      throw new OtaError('SLOT_SIZE', `slot ${slot} (${device}) has ${real} bytes but slots.${slot}.sizeBytes says ${sizeBytes}: set it to ${real} or less in the agent config`);
    }
    return sizeBytes;
  }

  /**
   * `slot` as a write target. Refuses the booted slot, a device that is the booted slot's under another
   * name (symlink, hard link, second device node: device and inode or st_rdev compared), and a block
   * device that backs a mount (the running root above all).
   */
  async target(slot: Slot, booted: Slot): Promise<SlotTarget> {
    const device = this.device(slot);
    if (slot === booted || await sameStorage(device, this.device(booted), `slot ${slot}`)) {
      throw new OtaError('SLOT_BOOTED', `refusing to write slot ${slot} (${device}): it is the slot the device runs from; updates go to the other slot`);
    }
    const id = await fileIdentity(device, `slot ${slot}`);
    if (id?.majorMinor !== undefined) {
      const points = await mountPointsOf(id.majorMinor, this.mountinfoPath);
      if (points.includes('/')) {
        throw new OtaError('SLOT_BOOTED', `refusing to write slot ${slot} (${device}): it backs the mounted root filesystem (${this.mountinfoPath}); check slots.${slot}.device and the boot script's ota_root_${slot}`);
      }
      if (points.length > 0) {
        throw new OtaError('SLOT_MOUNTED', `refusing to write slot ${slot} (${device}): it is mounted on ${points.join(', ')}; unmount it first`);
      }
    }
    return { slot, device, sizeBytes: await this.sizeBytes(slot) };
  }
}

/** The sha256 (hex) of the first `lengthBytes` of a slot device. */
export async function hashSlot(device: string, lengthBytes: number, signal?: AbortSignal): Promise<string> {
  const fh = await fsp.open(device, 'r').catch((err: unknown) => { throw withContext(`slot (${device}): open to read back`, err); });
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < lengthBytes;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, lengthBytes - at), at);
      if (bytesRead === 0) throw new OtaError('SLOT_SHORT', `slot (${device}) ends at ${at} bytes, before the ${lengthBytes} bytes of the image: the slot is too small`);
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

/** Writes a raw image into a target slot at given offsets; each write is fsynced before it returns. */
export class SlotWriter {
  private constructor(private readonly fh: fsp.FileHandle, readonly target: SlotTarget) {}

  /** Open `target` for an image of `imageSizeBytes`; refuses an image larger than the slot. */
  static async open(target: SlotTarget, imageSizeBytes: number): Promise<SlotWriter> {
    if (imageSizeBytes > target.sizeBytes) {
      throw new OtaError('SLOT_TOO_SMALL', `the image has ${imageSizeBytes} bytes but slot ${target.slot} (${target.device}) has ${target.sizeBytes}: use a larger slot or a smaller image`);
    }
    const fh = await fsp.open(target.device, 'r+').catch((err: unknown) => { throw withContext(`slot ${target.slot} (${target.device}): open for writing`, err); });
    return new SlotWriter(fh, target);
  }

  /** Write `bytes` at `offsetBytes` and fsync. */
  async write(offsetBytes: number, bytes: Uint8Array): Promise<void> {
    try {
      for (let done = 0; done < bytes.length;) {
        const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, offsetBytes + done);
        done += bytesWritten;
      }
      await this.fh.sync();
    } catch (err) {
      throw withContext(`slot ${this.target.slot} (${this.target.device}): write at ${offsetBytes}`, err);
    }
  }

  /** Close the device. */
  async close(): Promise<void> {
    await this.fh.close();
  }
}
