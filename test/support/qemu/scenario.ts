/**
 * Steps every scenario test of test/qemu-arm repeats: run a body on a started board (its serial
 * log printed, its tail on failure), wait for a boot to reach the agent's post-boot step, read
 * the stored env with both readers and check they agree, and make the USB stick of an offline
 * install. They assert (uvu) because each one is a claim the scenario makes at every boot.
 */
import * as assert from 'uvu/assert';
import type { GuestDevice } from './device.js';
import type { GuestFleet } from './guest-fleet.js';
import { run } from './image.js';
import type { Machine } from './machine.js';
import type { GuestRelease } from './release.js';

// Generous: the 2-core CI machine runs other tests beside these, and nothing here is a timing claim.
/** Timeout of one boot step (a slot chosen, the agent connected, a status seen). */
export const STEP_TIMEOUT_MS = 90_000;
/** Timeout of a whole install in the guest (notice to reboot). */
export const INSTALL_TIMEOUT_MS = 240_000;

/** Seconds from `fromMs` to `toMs` (default now), for the timings the tests print. */
export const seconds = (fromMs: number, toMs = Date.now()): string => ((toMs - fromMs) / 1000).toFixed(1);

/** The env the host reads between boots: fw_printenv and our codec agree, variable for variable. */
export async function readEnvAgreeing(device: GuestDevice, when: string): Promise<Map<string, string>> {
  const env = await device.readEnv();
  if (env === null) throw new Error(`${when}: the flash is still blank`);
  assert.equal(new Map([...env.codec].sort()), new Map([...env.fwPrintenv].sort()), `${when}: our codec reads what fw_printenv reads`);
  return env.fwPrintenv;
}

/** Runs `body` on a started board; on failure prints where its serial log is and its last lines; QEMU is killed after. */
export async function onBoard<T>(m: Machine, body: (m: Machine) => Promise<T>): Promise<T> {
  console.log(`#   serial log: ${m.logPath}`);
  try {
    return await body(m);
  } catch (err) {
    console.log(m.failureReport());
    throw err;
  } finally {
    await m.kill();
  }
}

/** Lines one agent command printed during `m`'s run so far. */
export function agentLines(m: Machine, command: string): string[] {
  return m.events.flatMap((e) => ('command' in e && e.command === command ? [e.line] : []));
}

/** The post-boot steps of `m`'s run as `from-event->to`. */
export function postBootSteps(m: Machine): string[] {
  return m.events.flatMap((e) => (e.kind === 'agent-step' && e.command === 'post-boot' ? [`${e.from}-${e.event}->${e.to}`] : []));
}

/**
 * Waits for this boot's slot, its init, and the end of the post-boot step; returns the
 * post-boot lines. `postBootCode` is the exit code post-boot must end with (null: do not
 * wait, post-boot reboots the board and never exits, as a revert from the bad slot does).
 */
export async function bootsToAgent(m: Machine, slot: string, postBootCode: number | null = 0): Promise<string[]> {
  const chosen = await m.waitFor('script-slot', { timeoutMs: STEP_TIMEOUT_MS });
  assert.is(chosen.slot, slot, `the boot script chooses ${slot}`);
  const cmdline = await m.waitFor('kernel-cmdline', { timeoutMs: STEP_TIMEOUT_MS });
  assert.is(cmdline.slot, slot, 'the kernel gets ota.slot= of the chosen slot');
  const init = await m.waitFor('init', { timeoutMs: STEP_TIMEOUT_MS });
  assert.is(init.slot, slot, "the slot's init reads the same slot");
  if (postBootCode === null) return agentLines(m, 'post-boot');
  const exit = await m.waitFor('agent-exit', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.command === 'post-boot' });
  const lines = agentLines(m, 'post-boot');
  assert.is(exit.code, postBootCode, `ota-agent post-boot exits ${postBootCode}:\n${lines.join('\n')}`);
  return lines;
}

/**
 * A USB stick image (`path`, `sizeMiB`) with one FAT filesystem over the whole device (no
 * partition table, as many sticks ship), holding the folder `from` as `/<name>`.
 */
export function makeStick(path: string, sizeMiB: number, from: string, name: string): string {
  run('mkfs.vfat', ['-C', '-n', 'OTA-STICK', path, String(sizeMiB * 1024)]);
  run('mcopy', ['-s', '-i', path, from, `::${name}`]);
  return path;
}

/** Waits for `ota-agent run` to connect to the broker. */
export async function agentConnected(m: Machine): Promise<void> {
  await m.waitFor('agent-mqtt', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.command === 'run' && e.state === 'connected' });
}

/** When the agent on a fresh device connected and when it asked for the reboot after installing. */
export interface MqttInstall { connectedMs: number; rebootMs: number }

/** What installsOverMqtt expects beyond a fresh busybox device. */
export interface MqttInstallOptions {
  /** The release and slot the device runs before the notice (default release 1 on A). */
  running?: { version: number; booted: string };
  /** The reboot command the agent runs (default `reboot -f`, the busybox slot's; systemd: `systemctl reboot`). */
  rebootCommand?: string;
  /** Notice to reboot (default INSTALL_TIMEOUT_MS; a full image takes longer than a delta). */
  installTimeoutMs?: number;
  /** The caller already saw `ota-agent run` connect in this boot (waiting again would wait for a reconnection). */
  connected?: boolean;
}

/**
 * Boot 1 of an update scenario, on a device (by default fresh: release 1 on A) whose post-boot already ended:
 * the agent connects and reports, the fleet publishes `release`, the agent goes through the
 * install states in order and runs its reboot command; QEMU ends (exitOnReboot).
 */
export async function installsOverMqtt(m: Machine, fleet: GuestFleet, deviceId: string, release: GuestRelease, o: MqttInstallOptions = {}): Promise<MqttInstall> {
  const running = o.running ?? { version: 1, booted: 'A' };
  if (o.connected !== true) await agentConnected(m);
  const connectedMs = Date.now();
  await fleet.waitForStatus(deviceId, (r) => r.phase === 'idle' && r.version === running.version && r.booted === running.booted, STEP_TIMEOUT_MS);
  const before = m.events.length;
  await fleet.publish(release);
  const first = await m.waitFor('agent-step', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.from === 'idle' });
  assert.is(first.command, 'run');
  const reboot = await m.waitFor('agent-reboot', { timeoutMs: o.installTimeoutMs ?? INSTALL_TIMEOUT_MS });
  const rebootMs = Date.now();
  assert.match(reboot.line, o.rebootCommand ?? 'reboot -f');
  await m.waitFor('kernel-reboot', { timeoutMs: STEP_TIMEOUT_MS });
  await m.waitForExit(STEP_TIMEOUT_MS);
  const steps = m.events.slice(before).flatMap((e) => (e.kind === 'agent-step' ? [e.to] : []));
  assert.equal(steps, ['verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting'], 'the agent went through the install states in order');
  return { connectedMs, rebootMs };
}
