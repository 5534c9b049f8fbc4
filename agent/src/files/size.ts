/**
 * The real size of a file or block device. Node has no BLKGETSIZE64 ioctl: a
 * block device's size comes from sysfs (`/sys/dev/block/MAJOR:MINOR/size`, in
 * 512-byte sectors, whatever the node is called), else from reading where it ends.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { withContext } from '../errors/index.js';
import { identityOf } from './identity.js';

/** Where sysfs is mounted (from config in the agent; tests point it at a temp dir). */
export const DEFAULT_SYSFS_ROOT = '/sys';

/** The size of `path` in bytes: a file's length, a block device's capacity. */
export async function realSizeBytes(path: string, what: string, sysfsRoot = DEFAULT_SYSFS_ROOT): Promise<number> {
  const fh = await fsp.open(path, 'r').catch((err: unknown) => { throw withContext(`${what} (${path}): open to find its size`, err); });
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isBlockDevice()) return Number(st.size);
    const id = identityOf(st);
    const sectors = await fsp.readFile(`${sysfsRoot}/dev/block/${id.majorMinor ?? ''}/size`, 'utf8').then((t) => t.trim(), () => '');
    return /^[0-9]+$/.test(sectors) ? 512 * Number(sectors) : await probeEnd(fh);
  } finally {
    await fh.close();
  }
}

/** The size of an open block device, found by reading: a binary search over 512-byte sectors. */
export async function probeEnd(fh: FileHandle): Promise<number> {
  const probe = Buffer.alloc(1);
  let lo = 0;
  let hi = 2 ** 44;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const { bytesRead } = await fh.read(probe, 0, 1, mid * 512 - 1);
    if (bytesRead === 1) lo = mid; else hi = mid - 1;
  }
  return lo * 512;
}
