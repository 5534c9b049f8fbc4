/**
 * The emulated ARM board for test/qemu-arm: image, runner, serial events, the gate that
 * decides whether the QEMU suite can run here, and what scenario tests build on: the boards
 * (boards.ts), a provisioned device booted once per QEMU run (device.ts, provision.ts), the
 * fleet on 127.0.0.1 it talks to (guest-fleet.ts) and releases made from its slot (release.ts).
 */
import { join } from 'node:path';
import { repoRoot } from './image.js';

export {
  Machine, QEMU_CPUS, qemuArgs, UBOOT_QEMU_ARM, UBOOT_QEMU_ARM64, type GuestForward, type MachineOptions, type QemuArch, type QemuBuild, type WaitOptions,
} from './machine.js';
export { blankFlash, fatEnvStore, flashEnvCopies, flashEnvStore, FLASH_BANK_BYTES, type EnvStore, type FlashEnvCopy } from './env-store.js';
export { QmpClient } from './qmp.js';
export { imageBootScript, simulateRuns, stateVars, type SimulatedRuns } from './simulate.js';
export { GUEST_OUTPUT_PREFIX, SerialParser, slotOfCmdline, type SerialEvent, type SerialEventKind } from './serial.js';
export {
  buildRedundantUboot, copyDisk, editExt4Image, ensureImage, extractPartition, fetchQemu10, flipBytes, readLayout, replaceFileInPartition, repoRoot, writePartition,
  zeroPartitionStart, type Ext4File, type GuestInit, type ImageLayout, type Partition,
} from './image.js';
export {
  GUEST_HOST_ADDRESS, GUEST_PATHS, QEMU_HARDWARE, SYSTEMD_GUEST_PATHS, guestAgentConfig, partitionDigest, provisionDataPartition, writeExt4Partition,
  type GuestAgentOptions, type HealthCheckJson, type Provisioning, type SlotDigest,
} from './provision.js';
export { baseSlotImage, makeGuestRelease, noise, versionFiles, type GuestRelease, type GuestReleaseOptions } from './release.js';
export { GUEST_PORTS, openGuestFleet, type GuestFleet, type SeenStatus } from './guest-fleet.js';
export { qemuSkipReason } from './skip.js';
export { ARM32_BOARD, QEMU_BOARDS, REDUNDANT_ENV_BOARD, boardRuns, type BoardCase } from './boards.js';
export {
  INSTALL_TIMEOUT_MS, STEP_TIMEOUT_MS, agentConnected, agentLines, bootsToAgent, installsOverMqtt, makeStick, onBoard, postBootSteps, readEnvAgreeing, seconds,
  type MqttInstall, type MqttInstallOptions,
} from './scenario.js';
export { GuestDevice, envState, type EnvReading, type GuestDeviceOptions } from './device.js';

const runId = new Date().toISOString().replace(/[:.]/g, '-');

/**
 * Folder for the serial logs of one test: `$OTA_QEMU_LOG_DIR/<run>/<name>` (default
 * `.cache/qemu-arm/logs`), kept after the run so CI can show or archive them.
 */
export function logDirFor(name: string): string {
  const base = process.env['OTA_QEMU_LOG_DIR'] ?? join(repoRoot, '.cache', 'qemu-arm', 'logs');
  return join(base, runId, name.replace(/[^A-Za-z0-9._-]+/g, '-'));
}
