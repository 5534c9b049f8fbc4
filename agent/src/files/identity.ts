/**
 * Whether two paths are the same storage: the same file (device and inode:
 * a hard link, a symlink, a bind mount), or the same block device under two
 * nodes (`st_rdev`). Paths are never compared as strings.
 */
import { promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { errnoCode, withContext } from '../errors/index.js';

/** What identifies the storage behind a path. */
export interface FileIdentity {
  /** `rdev` for a block or character device (every node of one device), else `dev:ino`. */
  readonly key: string;
  readonly blockDevice: boolean;
  /** The device's major:minor (block devices only): what /proc/self/mountinfo names a mount's backing device by. */
  readonly majorMinor?: string;
}

/** `MAJOR:MINOR` of a dev_t in glibc's encoding (`gnu_dev_major`, `gnu_dev_minor`), as sysfs and mountinfo name devices. */
export function devNumber(rdev: number | bigint): string {
  const r = BigInt(rdev);
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The identity of the storage of a stat result. */
export function identityOf(st: BigIntStats): FileIdentity {
  if (st.isBlockDevice()) return { key: `b${st.rdev}`, blockDevice: true, majorMinor: devNumber(st.rdev) };
  if (st.isCharacterDevice()) return { key: `c${st.rdev}`, blockDevice: false };
  return { key: `f${st.dev}:${st.ino}`, blockDevice: false };
}

/** The identity of `path` (symlinks followed), or undefined when it does not exist. */
export async function fileIdentity(path: string, what: string): Promise<FileIdentity | undefined> {
  try {
    return identityOf(await fsp.stat(path, { bigint: true }));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw withContext(`${what} (${path}): stat`, err);
  }
}

/** True when `a` and `b` exist and are the same file or the same device. */
export async function sameStorage(a: string, b: string, what: string): Promise<boolean> {
  const [x, y] = await Promise.all([fileIdentity(a, what), fileIdentity(b, what)]);
  return x !== undefined && y !== undefined && x.key === y.key;
}
