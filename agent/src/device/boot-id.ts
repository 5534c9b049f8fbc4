/**
 * The kernel's boot id: a random UUID the kernel draws at each boot. The device lock uses it to
 * tell a lock left by an earlier boot, and the status document to show that the device rebooted.
 */
import { readFile } from 'node:fs/promises';

/** Where Linux publishes it. */
export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

/** This boot's id, or '' where the kernel has none to read (not Linux, /proc not mounted). */
export async function bootId(path = BOOT_ID_PATH): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}
