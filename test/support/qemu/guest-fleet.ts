/**
 * The fleet side of an emulated-device test, all on 127.0.0.1: keys (`ota-fleet keygen`), a
 * broker (mosquitto when installed, MQTT 5; else the fleet's embedded aedes, MQTT 3.1.1), the
 * fleet's artifact server on a served folder, and an MQTT observer of `ota/v1/#`. The guest
 * reaches the broker and the server at fixed ports of GUEST_HOST_ADDRESS through guestfwd.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStatus, type DeviceReport } from '../../../fleet/src/status/index.js';
import { serveArtifacts, type ArtifactServer } from '../../../fleet/src/serve/index.js';
import { topicsFor } from '../../../agent/src/transport/index.js';
import { brokerKinds, fleetOk, openBroker, type RigBroker } from '../fleet-rig.js';
import { Observer, type Seen } from '../mqtt-observer.js';
import type { GuestForward } from './machine.js';
import { GUEST_HOST_ADDRESS, type GuestAgentOptions } from './provision.js';
import type { GuestRelease } from './release.js';

/** Guest ports of the broker and the artifact server (any fixed ports: they exist only inside QEMU). */
export const GUEST_PORTS = { mqtt: 1883, artifacts: 8080 } as const;

/** A status document seen on the broker, as the fleet reads it. */
export interface SeenStatus { report: DeviceReport; retain: boolean }

/** The fleet of one test. */
export interface GuestFleet {
  readonly keysDir: string;
  /** The fleet's root.json, to provision the device with. */
  readonly rootBytes: Uint8Array;
  readonly broker: RigBroker;
  readonly artifacts: ArtifactServer;
  readonly observer: Observer;
  /** QEMU's guestfwd rules for Machine.start. */
  readonly forwards: readonly GuestForward[];
  /** The mqtt and artifact parts of the guest's agent config. */
  readonly agentOptions: Pick<GuestAgentOptions, 'mqtt' | 'artifactPorts'>;
  /** `ota-fleet publish`: copy the release into the served folder, check it is served, publish its notice (retained, --all). */
  publish(release: GuestRelease): Promise<void>;
  /** Status documents of `deviceId` seen so far, oldest first. */
  statuses(deviceId: string): SeenStatus[];
  /** Waits for a status document of `deviceId` (from the `from`-th message on) that `match` accepts. */
  waitForStatus(deviceId: string, match: (r: DeviceReport) => boolean, timeoutMs: number, from?: number): Promise<DeviceReport>;
  /** The status document the broker retains for `deviceId`, read by a new subscriber. */
  retainedStatus(deviceId: string, timeoutMs: number): Promise<SeenStatus>;
  close(): Promise<void>;
}

function report(deviceId: string, m: Seen): SeenStatus {
  return { report: parseStatus(deviceId, Buffer.from(m.text)), retain: m.retain };
}

/** Starts the fleet of one test in `workDir` (created). */
export async function openGuestFleet(workDir: string): Promise<GuestFleet> {
  mkdirSync(join(workDir, 'served'), { recursive: true });
  const keysDir = join(workDir, 'keys');
  await fleetOk(workDir, ['keygen', '--out', keysDir]);
  const kind = brokerKinds().includes('mosquitto') ? 'mosquitto' : 'aedes';
  const broker = await openBroker(kind);
  const artifacts = await serveArtifacts(join(workDir, 'served'));
  const observer = await Observer.open(broker.url);
  const brokerPort = Number(new URL(broker.url).port);
  const statusTopic = (id: string): string => topicsFor(id, 'any').status;
  return {
    keysDir, rootBytes: readFileSync(join(keysDir, 'root.json')), broker, artifacts, observer,
    forwards: [
      { guestAddress: GUEST_HOST_ADDRESS, guestPort: GUEST_PORTS.mqtt, hostPort: brokerPort },
      { guestAddress: GUEST_HOST_ADDRESS, guestPort: GUEST_PORTS.artifacts, hostPort: artifacts.port },
    ],
    agentOptions: { mqtt: { guestPort: GUEST_PORTS.mqtt, protocolVersion: broker.deviceProtocol }, artifactPorts: [GUEST_PORTS.artifacts] },
    publish: async (release) => {
      await fleetOk(workDir, ['publish', '--release', release.dir, '--broker', broker.url, '--artifacts-url', artifacts.url,
        '--copy-to', join(workDir, 'served'), '--all', '--protocol-version', String(broker.deviceProtocol)]);
    },
    statuses: (id) => observer.seen.filter((m) => m.topic === statusTopic(id) && m.text !== '').map((m) => report(id, m)),
    waitForStatus: async (id, match, timeoutMs, from = 0) => {
      const seen = await observer.waitFor((m) => m.topic === statusTopic(id) && m.text !== '' && match(report(id, m).report), timeoutMs, from);
      return report(id, seen).report;
    },
    retainedStatus: async (id, timeoutMs) => {
      const fresh = await Observer.open(broker.url, statusTopic(id));
      try {
        return report(id, await fresh.waitFor(() => true, timeoutMs));
      } finally {
        await fresh.close();
      }
    },
    close: async () => {
      await observer.close();
      await artifacts.close();
      await broker.close();
    },
  };
}
