/**
 * The mounted filesystems as /proc/self/mountinfo lists them: which device
 * (major:minor) backs which mount point. A slot whose device backs a mount is
 * in use; the one backing `/` is the running system.
 */
import { promises as fsp } from 'node:fs';
import { OtaError, describe } from '../errors/index.js';

/** The default mountinfo path (the agent config's `mountinfoPath`). */
export const DEFAULT_MOUNTINFO_PATH = '/proc/self/mountinfo';

/** Mount points by the major:minor of their backing device. */
export function mountsByDevice(mountinfo: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of mountinfo.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": field 3 is major:minor, field 5 the mount point
    const fields = line.split(' ');
    const device = fields[2];
    const point = fields[4];
    if (device === undefined || point === undefined || !/^[0-9]+:[0-9]+$/.test(device)) continue;
    out.set(device, [...out.get(device) ?? [], point.replace(/\\040/g, ' ')]);
  }
  return out;
}

/** The mount points backed by block device `majorMinor`, read from `mountinfoPath`. */
export async function mountPointsOf(majorMinor: string, mountinfoPath: string): Promise<string[]> {
  const text = await fsp.readFile(mountinfoPath, 'utf8').catch((err: unknown) => {
    throw new OtaError('MOUNTINFO', `cannot read ${mountinfoPath} (${describe(err)}) to check that a slot is not mounted: set mountinfoPath in the agent config`, { cause: err });
  });
  return mountsByDevice(text).get(majorMinor) ?? [];
}
