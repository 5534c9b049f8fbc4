/**
 * The slot table from the agent config: which file or block device holds each
 * slot, its size, and the one rule every writer goes through: the booted slot is
 * never a write target.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { OtaError, describe, withContext } from '../errors/index.js';
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

/** Slots by name, from the config. */
export class SlotTable {
  constructor(private readonly slots: Readonly<Record<Slot, SlotConfig>>, private readonly sysfsRoot = '/sys') {}

  /** The device (file or block device) of `slot`. */
  device(slot: Slot): string {
    return this.slots[slot].device;
  }

  /** The size of `slot`: from the config, else the file's size or the block device's (sysfs). */
  async sizeBytes(slot: Slot): Promise<number> {
    const { device, sizeBytes } = this.slots[slot];
    if (sizeBytes !== undefined) return sizeBytes;
    const st = await fsp.stat(device).catch((err: unknown) => {
      throw new OtaError('SLOT_MISSING', `slot ${slot} (${device}): ${describe(err)}: check slots.${slot}.device in the agent config`, { cause: err });
    });
    if (!st.isBlockDevice()) return st.size;
    const text = await fsp.readFile(`${this.sysfsRoot}/class/block/${basename(realpathSync(device))}/size`, 'utf8')
      .catch((err: unknown) => { throw withContext(`slot ${slot} (${device}): size from sysfs; set slots.${slot}.sizeBytes in the agent config`, err, 'SLOT_SIZE'); });
    return 512 * Number(text.trim());
  }

  /** `slot` as a write target; refuses the booted slot (or a device that is the booted slot's under another name). */
  async target(slot: Slot, booted: Slot): Promise<SlotTarget> {
    const device = this.device(slot);
    if (slot === booted || sameFile(device, this.device(booted))) {
      throw new OtaError('SLOT_BOOTED', `refusing to write slot ${slot} (${device}): it is the slot the device runs from; updates go to the other slot`);
    }
    return { slot, device, sizeBytes: await this.sizeBytes(slot) };
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
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
