/**
 * Where an env copy's bytes lie, to tell whether two fw_env.config lines name the same storage
 * under different names: one MTD device; one file under a hard link, a symlink or a relative path
 * (device and inode); one block device under two nodes (its dev_t); a partition and its disk (sysfs:
 * a partition's `start`, in 512-byte sectors, and its parent's `dev`). A stat or sysfs read that
 * fails falls back to a weaker key (the path, the node's own dev_t): the read that follows reports
 * a missing device.
 */
import { devNumber } from '../files/index.js';
import { mtdNumber } from './devices.js';
import type { FileIo } from './storage.js';

/** A copy's first byte, in the storage `storage` names (equal names: one storage). */
export interface Extent {
  readonly storage: string;
  readonly startBytes: number;
}

/** The extent of the copy at `offsetBytes` (already absolute) of `device`. */
export async function extentOf(device: string, offsetBytes: number, sysfsRoot: string, io: FileIo): Promise<Extent> {
  const mtd = mtdNumber(device);
  if (mtd !== undefined) return { storage: `mtd${mtd}`, startBytes: offsetBytes };
  const st = await io.stat(device).catch(() => undefined);
  if (st?.isBlockDevice() === true && st.rdev !== undefined) return blockExtent(devNumber(st.rdev), offsetBytes, sysfsRoot, io);
  if (st?.ino !== undefined) return { storage: `inode ${st.dev ?? 0}:${st.ino}`, startBytes: offsetBytes };
  return { storage: `path ${device}`, startBytes: offsetBytes };
}

async function blockExtent(own: string, offsetBytes: number, sysfsRoot: string, io: FileIo): Promise<Extent> {
  const dir = `${sysfsRoot}/dev/block/${own}`;
  const text = (path: string): Promise<string | undefined> => io.readText(path).then((t) => t.trim(), () => undefined);
  const start = await text(`${dir}/start`);
  if (start === undefined || !/^\d+$/.test(start)) return { storage: `block ${own}`, startBytes: offsetBytes };
  // A partition's sysfs directory sits in its disk's: the kernel resolves '..' after the symlink
  // (so no path.join, which would drop the symlink first).
  const disk = await text(`${dir}/../dev`);
  if (disk === undefined || !/^\d+:\d+$/.test(disk)) return { storage: `block ${own}`, startBytes: offsetBytes };
  return { storage: `block ${disk}`, startBytes: 512 * Number(start) + offsetBytes };
}
