/**
 * A fleet for rollout tests: keys and a signed release made with the real
 * `ota-fleet keygen` and `ota-fleet release`, a broker (embedded aedes, or a real
 * mosquitto), and lightweight simulated devices (sim-fleet.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleet } from '../../fleet/src/cli/index.js';
import { serveArtifacts, startBroker, type ArtifactServer } from '../../fleet/src/serve/index.js';
import { haveMosquitto, startMosquitto } from './mosquitto.js';
import { SimFleet, type SimDeviceSpec } from './sim-fleet.js';
import { runMain, tempDir } from './tools.js';
import type { Context } from 'uvu';
import { gate, type Registrar } from './skip.js';

/** The hardware id of the test fleet. */
export const HW = 'sim-hw';

/** A broker under test. */
export interface RigBroker {
  readonly name: string;
  readonly url: string;
  /** MQTT level the devices speak (aedes: 3.1.1 only). */
  readonly deviceProtocol: 4 | 5;
  /** Kill and start again on the same port (retained messages are lost: persistence is off); undefined when unsupported. */
  readonly restart?: () => Promise<void>;
  close(): Promise<void>;
}

/** The brokers available here: aedes always, mosquitto when installed. */
export function brokerKinds(): readonly string[] {
  return haveMosquitto() ? ['aedes', 'mosquitto'] : ['aedes'];
}

/**
 * Every broker the fleet tests run against, each with its test registrar: mosquitto's tests are skipped by
 * name (test/support/skip.ts) where it is not installed, never dropped from the run without a trace.
 */
export function eachBroker(): readonly (readonly [kind: string, it: Registrar<Context>])[] {
  return [['aedes', gate(undefined)], ['mosquitto', gate(haveMosquitto() ? undefined : 'missing mosquitto')]];
}

/** Start a broker of `kind`. */
export async function openBroker(kind: string): Promise<RigBroker> {
  if (kind === 'aedes') {
    const b = await startBroker();
    return { name: 'aedes', url: b.url, deviceProtocol: 4, close: () => b.close() };
  }
  const m = await startMosquitto();
  return { name: 'mosquitto', url: m.url, deviceProtocol: 5, restart: async () => { await m.kill(); await m.restart(); }, close: () => m.stop() };
}

/** A temp dir with KEYS/ and a signed release R/ (version 2) of a small image. */
export interface Rig {
  readonly dir: string;
  readonly keys: string;
  readonly release: string;
  readonly rootBytes: Uint8Array;
  cleanup(): void;
}

/** Run ota-fleet in-process in `cwd`; throws with its stderr on a non-zero exit. */
export async function fleetOk(cwd: string, argv: readonly string[]): Promise<string> {
  const r = await runMain(fleet, argv, { cwd });
  if (r.code !== 0) throw new Error(`ota-fleet ${argv.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Keys and release version 2 for hardware HW. */
export async function makeRig(): Promise<Rig> {
  const t = tempDir('ota-fleet-rig-');
  const img = Buffer.alloc(8192);
  for (let k = 0; k < img.length; k++) img[k] = (k * 131) & 0xff;
  writeFileSync(join(t.dir, 'v2.img'), img);
  await fleetOk(t.dir, ['keygen', '--out', 'KEYS']);
  await fleetOk(t.dir, ['release', '--image', 'v2.img', '--version', '2', '--hardware', HW, '--keys', 'KEYS', '--out', 'R']);
  return { dir: t.dir, keys: join(t.dir, 'KEYS'), release: join(t.dir, 'R'), rootBytes: readFileSync(join(t.dir, 'KEYS', 'root.json')), cleanup: t.cleanup };
}

/** Serve the release directory R over HTTP, as the devices' artifact URL (`rollout start --artifacts-url` checks it). */
export function serveRelease(rig: Rig): Promise<ArtifactServer> {
  return serveArtifacts(rig.release);
}

/** `n` devices `dev-00`..; those for which `fail(id)` is true fail their health check. */
export function deviceSpecs(n: number, fail: (id: string) => boolean = () => false): SimDeviceSpec[] {
  return Array.from({ length: n }, (_, k) => {
    const deviceId = `dev-${String(k).padStart(2, '0')}`;
    return { deviceId, version: 1, fail: fail(deviceId) };
  });
}

/** Start simulated devices on `broker`. */
export async function startDevices(rig: Rig, broker: RigBroker, specs: readonly SimDeviceSpec[], stepMs = 40, onInstall?: (deviceId: string) => void): Promise<SimFleet> {
  const fleetOfDevices = new SimFleet(specs, {
    url: broker.url, protocolVersion: broker.deviceProtocol, hardware: HW, rootBytes: rig.rootBytes, stepMs, ...(onInstall === undefined ? {} : { onInstall }),
  });
  await fleetOfDevices.start();
  return fleetOfDevices;
}

/** Run `body` on a fresh rig, a broker of `kind`, the release served over HTTP and devices started from `specs`; all end with it. */
export async function withServedFleet(kind: string, specs: readonly SimDeviceSpec[],
  body: (rig: Rig, broker: RigBroker, server: ArtifactServer, devices: SimFleet) => Promise<void>): Promise<void> {
  const rig = await makeRig();
  const broker = await openBroker(kind);
  const server = await serveRelease(rig);
  const devices = await startDevices(rig, broker, specs);
  try {
    await body(rig, broker, server, devices);
  } finally {
    await devices.stop();
    await server.close();
    await broker.close();
    rig.cleanup();
  }
}
