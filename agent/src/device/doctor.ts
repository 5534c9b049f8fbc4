/**
 * `ota-agent doctor`: bring-up checks for a new board, each with a verdict and a
 * hint: the env is readable and holds the canary the boot script saved for this
 * boot, the booted slot is known and is the mounted root, the slot devices exist,
 * are not the running root and fit the image, the clock is sane, the trusted
 * root is provisioned, the identity is (device id, client certificate and key
 * when the broker wants them), the data directory is writable, /etc is the booted slot's overlay
 * (docs/data-partition.md), the broker answers.
 */
import { readFile, rm } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { BOOT_VARS, SLOTS, parseCmdline } from '../boot/index.js';
import type { Slot } from '../boot/index.js';
import { writeFileAtomic } from '../durable/index.js';
import { describe } from '../errors/index.js';
import { AGENT_BUILD_TIME_MS, loadTrustState } from '../trust/index.js';
import { checkIdentity } from '../provision/index.js';
import type { Device } from './device.js';
import type { FleetProbe } from '../health/index.js';
import { hasEtcOverlay, upperDirOf, type EtcLayout } from '../etc/index.js';

/** One check's verdict. */
export interface DoctorCheck {
  readonly name: string;
  readonly verdict: 'ok' | 'warn' | 'fail';
  readonly detail: string;
}

/** What the checks need besides the device. */
export interface DoctorDeps {
  readonly nowMs: number;
  /** Null skips the broker check. */
  readonly fleet: FleetProbe | null;
  readonly fleetTimeoutMs: number;
  /** `/proc/self/mountinfo`; null skips the root checks (a simulated device). */
  readonly mountinfoPath: string | null;
}

type Check = () => Promise<[DoctorCheck['verdict'], string]>;

/** Run every check; never throws (a check that throws has failed). */
export async function doctor(device: Device, deps: DoctorDeps): Promise<DoctorCheck[]> {
  const { config, env, boot, slots } = device;
  let booted: Slot | null = null;
  let root: string | null = null;
  const checks: [string, Check][] = [
    ['boot env', async () => {
      const vars = await env.read();
      const canary = vars.get(BOOT_VARS.bootCount);
      if (canary === undefined) return ['fail', `${env.description} has no ${BOOT_VARS.bootCount}: not the env U-Boot uses, or the device did not boot through boot.cmd (check fw_env.config)`];
      const cmdline = parseCmdline(await readFile(config.cmdlinePath, 'utf8'));
      if (cmdline.bootCount !== canary) return ['fail', `U-Boot passed ota.boot=${cmdline.bootCount ?? '(none)'} but ${env.description} holds ${BOOT_VARS.bootCount}=${canary}: the env is not the one U-Boot saved`];
      return ['ok', `${env.description}: canary ${BOOT_VARS.bootCount}=${canary} matches this boot`];
    }],
    ['booted slot', async () => {
      booted = await boot.booted();
      return ['ok', `slot ${booted} (from ${config.cmdlinePath}); next boot: slot ${await boot.primary()}`];
    }],
    ['mounted root', async () => {
      if (deps.mountinfoPath === null) return ['ok', 'simulated device: no root filesystem to compare'];
      root = rootSource(await readFile(deps.mountinfoPath, 'utf8'));
      if (root === null) return ['warn', 'no root mount found in mountinfo'];
      if (booted === null) return ['fail', `root is ${root}, but the booted slot is unknown`];
      return same(root, slots.device(booted)) ? ['ok', `root ${root} is slot ${booted}`]
        : ['fail', `root is ${root} but slot ${booted} is ${slots.device(booted)}: slots.${booted}.device or the boot script's ota_root_${booted} is wrong`];
    }],
    ...SLOTS.map((s): [string, Check] => [`slot ${s}`, async () => {
      const sizeBytes = await slots.sizeBytes(s);
      if (root !== null && booted !== s && same(root, slots.device(s))) return ['fail', `${slots.device(s)} is the running root but slot ${s} is not booted`];
      const held = (await device.records.load()).slots[booted ?? s];
      if (held !== undefined && held.sizeBytes > sizeBytes) return ['fail', `${slots.device(s)} has ${sizeBytes} bytes, less than the ${held.sizeBytes}-byte image running now`];
      return ['ok', `${slots.device(s)}, ${sizeBytes} bytes`];
    }]),
    ['clock', async () => deps.nowMs >= AGENT_BUILD_TIME_MS ? ['ok', new Date(deps.nowMs).toISOString()]
      : ['fail', `${new Date(deps.nowMs).toISOString()} is before this agent was built (${new Date(AGENT_BUILD_TIME_MS).toISOString()}): set the clock (NTP, RTC)`]],
    ['identity', () => checkIdentity(config)],
    ['trusted root', async () => {
      const state = await loadTrustState(config.dataDir);
      return ['ok', `root v${state.trusted.root.version}, installed version floor ${state.installedVersion}`];
    }],
    ['data directory', async () => {
      const probe = join(config.dataDir, '.doctor-probe');
      await writeFileAtomic(probe, 'ok\n');
      await rm(probe);
      return ['ok', `${config.dataDir} is writable (atomic write with fsync)`];
    }],
    ['/etc overlay', async () => {
      if (deps.mountinfoPath === null) return ['ok', 'simulated device: no pre-init'];
      return etcOverlayCheck(config.etc, booted, await readFile(deps.mountinfoPath, 'utf8'));
    }],
    ['broker', async () => {
      if (deps.fleet === null) return config.mqtt === undefined ? ['ok', 'no mqtt section: an offline device'] : ['warn', 'skipped'];
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), deps.fleetTimeoutMs);
      try {
        await deps.fleet.roundTrip(timeout.signal);
      } finally {
        clearTimeout(timer);
      }
      return ['ok', `MQTT round-trip through ${config.mqtt?.url ?? '?'}`];
    }],
  ];
  const results: DoctorCheck[] = [];
  for (const [name, check] of checks) {
    try {
      const [verdict, detail] = await check();
      results.push({ name, verdict, detail });
    } catch (err) {
      results.push({ name, verdict: 'fail', detail: describe(err) });
    }
  }
  return results;
}

/** Whether /etc is the overlay the pre-init mounts for the booted slot (docs/data-partition.md). */
export async function etcOverlayCheck(etc: EtcLayout, booted: Slot | null, mountinfo: string): Promise<[DoctorCheck['verdict'], string]> {
  if (!await hasEtcOverlay(etc)) {
    return ['warn', `${etc.lowerDir} is missing: the device did not boot through ota-init (init=/usr/lib/ota-agent/ota-init), so /etc is the slot's and an update drops the device's changes to it`];
  }
  const upper = upperDirOf(etc.overlayDir, booted ?? '?');
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (pre?.split(' ')[4] !== '/etc' || post?.split(' ')[0] !== 'overlay') continue;
    if ((post.split(' ')[2] ?? '').split(',').includes(`upperdir=${upper}`)) return ['ok', `/etc is an overlay: the device's changes go to ${upper}`];
    return ['fail', `/etc is an overlay, but not with ${upper} as its upper (the booted slot's): check the ota-init lines of the kernel log`];
  }
  return ['fail', `/etc is not an overlay although ota-init ran: its ota-init lines in the kernel log say why; the device's changes to /etc would be lost at the next update`];
}

/** The source device of the `/` mount in a mountinfo text, or null. */
export function rootSource(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (pre === undefined || post === undefined || pre.split(' ')[4] !== '/') continue;
    return post.split(' ')[1] ?? null;
  }
  return null;
}

function same(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}
