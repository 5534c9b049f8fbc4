/**
 * Per-test provisioning of the emulated device, without rebuilding the image: the data
 * partition of a test's disk copy gets what a provisioned device has there (agent.json,
 * the fleet's trusted root, the installed version, what slot A holds, committed), made with
 * the agent's own trust and slot-record modules (as `ota-agent sim create` does), then
 * written in as a fresh ext4 (mke2fs -d of a folder, at the partition's offset).
 * test/qemu-arm/guest/start.sh runs the agent when /data/agent.json exists.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlotRecordStore } from '../../../agent/src/slots/index.js';
import { TRUST_FILES, loadTrustState, provisionRoot, recordInstalled } from '../../../agent/src/trust/index.js';
import { run, type ImageLayout, type Partition } from './image.js';
import type { QemuArch } from './machine.js';

/** Where things are inside the guest (test/qemu-arm/guest: slot-init mounts /dev/vda4 on /data). */
export const GUEST_PATHS = {
  /** The agent config start.sh passes to `ota-agent --config`. */
  config: '/data/agent.json',
  /** The agent's dataDir (journal, trust state, slot records, download spool). */
  dataDir: '/data/ota-agent',
  /** The board's fw_env.config, put in every slot by build-image.sh. */
  envConfig: '/etc/fw_env.config',
} as const;

/**
 * Where things are in the systemd slot (test/qemu-arm/guest/systemd, build-image.sh systemd_slot): the
 * units read /etc/ota-agent/agent.json, a link to the data directory /var/lib/ota-agent, which is
 * ota-agent/ on the data partition (bound there by the pre-init, agent/init/ota-init); `ota-agent provision` fills it.
 */
export const SYSTEMD_GUEST_PATHS = {
  /** The config the shipped units pass to `ota-agent --config` (a link into the data directory). */
  config: '/etc/ota-agent/agent.json',
  /** The agent's default data directory, the one the units' sandbox lets it write. */
  dataDir: '/var/lib/ota-agent',
  /** The provisioning file a test leaves on the data partition for `ota-agent provision --from` in the guest. */
  provisionFile: '/data/provision/provision.json',
} as const;

/** The address the guest reaches host services at (QEMU guestfwd; the host side is 127.0.0.1). */
export const GUEST_HOST_ADDRESS = '10.0.2.100';

/** The hardware id of a QEMU board by its arch, which its releases list (docs/agent-config.md). */
export const QEMU_HARDWARE: Readonly<Record<QemuArch, string>> = { arm64: 'qemu-virt-arm64', arm: 'qemu-virt-arm' };

/** A health check as agent.json takes it (health.checks[]). */
export type HealthCheckJson = Readonly<Record<string, unknown>>;

/** What the guest's agent.json says beyond the board's fixed paths. */
export interface GuestAgentOptions {
  deviceId: string;
  /** Guest port of the broker (forwarded to the host's broker) and its MQTT level; absent: an offline device. */
  mqtt?: { guestPort: number; protocolVersion: 4 | 5 };
  /** Guest ports of artifact mirrors (forwarded to the host's artifact server). */
  artifactPorts?: readonly number[];
  /** Declared checks; the required fleet round-trip is always added by the agent. */
  checks?: readonly HealthCheckJson[];
  healthDeadlineMs?: number;
  tries?: number;
  /** machine.maxSaves: restarts of one state without progress before the agent gives the update up (default 3). */
  maxSaves?: number;
}

/**
 * The agent.json of the emulated device: the board's env config and slot partitions; under busybox
 * `reboot -f` and the data directory on /data, under systemd the defaults (`systemctl reboot`, /var/lib/ota-agent).
 */
export function guestAgentConfig(layout: ImageLayout, o: GuestAgentOptions): Record<string, unknown> {
  const busybox = layout.init === 'busybox';
  return {
    comment: `emulated ${layout.board}, provisioned by test/support/qemu/provision.ts`,
    deviceId: o.deviceId,
    hardware: QEMU_HARDWARE[layout.arch],
    dataDir: busybox ? GUEST_PATHS.dataDir : SYSTEMD_GUEST_PATHS.dataDir,
    env: GUEST_PATHS.envConfig,
    tries: o.tries ?? 3,
    slots: { A: { device: layout.partitions.A.device }, B: { device: layout.partitions.B.device } },
    ...(o.mqtt === undefined ? {} : {
      mqtt: { url: `mqtt://${GUEST_HOST_ADDRESS}:${o.mqtt.guestPort}`, protocolVersion: o.mqtt.protocolVersion, backoff: { baseMs: 500, capMs: 5000 } },
    }),
    ...(o.artifactPorts === undefined ? {} : { artifacts: { urls: o.artifactPorts.map((p) => `http://${GUEST_HOST_ADDRESS}:${p}/`) } }),
    health: { deadlineMs: o.healthDeadlineMs ?? 60_000, checks: o.checks ?? [] },
    ...(o.maxSaves === undefined ? {} : { machine: { maxSaves: o.maxSaves } }),
    logFormat: 'text',
    // no init system to go through in the busybox slot; busybox syncs before it reboots
    ...(busybox ? { rebootCommand: ['reboot', '-f'] } : {}),
  };
}

/** Size and sha256 of a slot partition's bytes (what slots.json records and a release's base is). */
export interface SlotDigest { sizeBytes: number; sha256: string }

/** Hashes partition `part` of `diskPath`. */
export function partitionDigest(diskPath: string, part: Partition): SlotDigest {
  const hash = createHash('sha256');
  const fd = openSync(diskPath, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (let done = 0; done < part.sizeBytes;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, part.sizeBytes - done), part.offsetBytes + done);
      if (n === 0) throw new Error(`${diskPath}: partition at ${part.offsetBytes} ends early`);
      hash.update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sizeBytes: part.sizeBytes, sha256: hash.digest('hex') };
}

/** What the data partition of a provisioned device holds. */
export interface Provisioning {
  /** agent.json (guestAgentConfig). */
  agentConfig: Record<string, unknown>;
  /** The fleet's root.json (ota-fleet keygen). */
  rootBytes: Uint8Array;
  /** The release slot A holds (the image's /etc/ota/version says 1). */
  version: number;
  /** Slot A's digest (partitionDigest of the image); the agent picks the delta by it. */
  slotA: SlotDigest;
  /** More files, by path relative to the data partition's root (e.g. a health check's marker). */
  extraFiles?: Readonly<Record<string, string>>;
}

/**
 * Writes a fresh data partition into `diskPath` (a test's copy of the image): in ota-agent/ the installed
 * version and slot A recorded and committed (what a factory image lays out), and the identity: under
 * busybox agent.json at the partition's root and the trusted root in ota-agent/; under systemd a
 * provisioning file and the root in provision/, for `ota-agent provision --from` run in the guest
 * (SYSTEMD_GUEST_PATHS). The env needs nothing: the image's first boot starts with A first in BOOT_ORDER.
 */
export async function provisionDataPartition(diskPath: string, layout: ImageLayout, workDir: string, p: Provisioning): Promise<void> {
  const root = join(workDir, 'data-root');
  rmSync(root, { recursive: true, force: true });
  const dataDir = join(root, 'ota-agent');
  mkdirSync(dataDir, { recursive: true });
  await provisionRoot(dataDir, p.rootBytes);
  await recordInstalled(dataDir, await loadTrustState(dataDir), p.version);
  const records = new SlotRecordStore(dataDir);
  await records.setContent('A', { version: p.version, ...p.slotA });
  await records.setCommitted('A');
  if (layout.init === 'systemd') {
    rmSync(join(dataDir, TRUST_FILES.root));  // the guest's `ota-agent provision` installs it
    mkdirSync(join(root, 'provision'));
    writeFileSync(join(root, 'provision', 'root.json'), p.rootBytes);
    writeFileSync(join(root, 'provision', 'provision.json'), `${JSON.stringify({ ...p.agentConfig, files: { root: 'root.json' } }, null, 2)}\n`);
  } else {
    writeFileSync(join(root, 'agent.json'), `${JSON.stringify(p.agentConfig, null, 2)}\n`);
  }
  for (const [path, content] of Object.entries(p.extraFiles ?? {})) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  // the systemd slot boots through the pre-init, which finds the data partition by its label (docs/data-partition.md)
  writeExt4Partition(diskPath, layout.partitions.data, root, workDir, layout.init === 'systemd' ? 'ota-data' : 'data');
}

/** Makes an ext4 of `part`'s size from folder `from` (owned by root) and writes it at the partition's offset. */
export function writeExt4Partition(diskPath: string, part: Partition, from: string, workDir: string, label: string): void {
  const img = join(workDir, `${label}.ext4`);
  rmSync(img, { force: true });
  run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-m', '0', '-L', label, '-E', 'root_owner=0:0', '-d', from, img, `${part.sizeBytes / 1024}k`]);
  run('dd', [`if=${img}`, `of=${diskPath}`, 'bs=1M', `seek=${part.offsetBytes / (1024 * 1024)}`, 'conv=notrunc', 'status=none']);
  rmSync(img);
}
