/**
 * The emulated ARM board for test/qemu-arm: image, runner, serial events,
 * and the gate that decides whether the QEMU suite can run here.
 */
import { join } from 'node:path';
import { missingTools } from '../tools.js';
import { IMAGE_TOOLS, repoRoot } from './image.js';
import { UBOOT_QEMU_ARM64 } from './machine.js';

export { Machine, qemuArgs, UBOOT_QEMU_ARM64, type GuestForward, type MachineOptions, type QemuBuild, type WaitOptions } from './machine.js';
export { blankFlash, fatEnvStore, flashEnvStore, FLASH_BANK_BYTES, type EnvStore } from './env-store.js';
export { QmpClient } from './qmp.js';
export { imageBootScript, simulateRuns, stateVars, type SimulatedRuns } from './simulate.js';
export { SerialParser, slotOfCmdline, type SerialEvent, type SerialEventKind } from './serial.js';
export {
  copyDisk, ensureImage, fetchQemu10, readLayout, replaceFileInPartition, repoRoot, zeroPartitionStart,
  type ImageLayout, type Partition,
} from './image.js';

/** Why the QEMU suite cannot run here (prints it), or undefined when it can. */
export function qemuSkipReason(): string | undefined {
  if (process.env['OTA_SKIP_QEMU'] === '1') {
    console.log('# skipping the QEMU suite: OTA_SKIP_QEMU=1');
    return 'OTA_SKIP_QEMU=1';
  }
  const missing = missingTools('the QEMU suite', 'qemu-system-aarch64', UBOOT_QEMU_ARM64, ...IMAGE_TOOLS);
  return missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
}

const runId = new Date().toISOString().replace(/[:.]/g, '-');

/**
 * Folder for the serial logs of one test: `$OTA_QEMU_LOG_DIR/<run>/<name>` (default
 * `.cache/qemu-arm/logs`), kept after the run so CI can show or archive them.
 */
export function logDirFor(name: string): string {
  const base = process.env['OTA_QEMU_LOG_DIR'] ?? join(repoRoot, '.cache', 'qemu-arm', 'logs');
  return join(base, runId, name.replace(/[^A-Za-z0-9._-]+/g, '-'));
}
