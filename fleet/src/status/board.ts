/**
 * The fleet's view of its devices: an MQTT client subscribed to every retained
 * status document and availability message, keeping the latest of each. The
 * rollout controller plans from it; `ota-fleet status` prints it.
 */
import { EventEmitter } from 'node:events';
import { connectAsync, type MqttClient } from 'mqtt';
import { OtaError, describe } from '../../../agent/src/errors/index.js';
import { AVAILABILITY_FILTER, STATUS_FILTER, deviceOfTopic, parseStatus, type DeviceReport } from './report.js';

/** MQTT protocol level the fleet tools speak: 4 (3.1.1, every broker incl. aedes) or 5. */
export type ProtocolVersion = 4 | 5;

/** How the fleet tools connect. */
export interface FleetMqttOptions {
  readonly url: string;
  readonly protocolVersion: ProtocolVersion;
  /** Client id prefix; a random suffix keeps two tools from kicking each other off. */
  readonly clientIdPrefix: string;
  readonly connectTimeoutMs?: number;
}

/** Connect a fleet tool to the broker (mqtt.js reconnects and resubscribes every second). */
export async function connectFleet(o: FleetMqttOptions): Promise<MqttClient> {
  try {
    return await connectAsync(o.url, {
      protocolVersion: o.protocolVersion, clean: true, reconnectPeriod: 1000, connectTimeout: o.connectTimeoutMs ?? 10_000,
      clientId: `${o.clientIdPrefix}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    }, false);
  } catch (err) {
    throw new OtaError('BROKER_UNREACHABLE', `MQTT broker ${o.url}: ${describe(err)}: check --broker and that the broker runs`, { cause: err, transient: true });
  }
}

/** Board events: `change` after each status or availability message. */
export interface BoardEvents {
  change: [deviceId: string];
}

/** The latest status document and availability of every device. */
export class StatusBoard extends EventEmitter<BoardEvents> {
  readonly reports = new Map<string, DeviceReport>();
  readonly online = new Map<string, boolean>();
  /** Devices whose last status document could not be read, and why. */
  readonly problems = new Map<string, string>();
  private lastMessageMs = Date.now();

  private constructor(readonly client: MqttClient) {
    super();
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /** Subscribe `client` to every status and availability topic. */
  static async attach(client: MqttClient): Promise<StatusBoard> {
    const board = new StatusBoard(client);
    await client.subscribeAsync([STATUS_FILTER, AVAILABILITY_FILTER], { qos: 1 });
    board.lastMessageMs = Date.now();
    return board;
  }

  /**
   * Resolve once the retained documents have arrived: MQTT has no end-of-retained
   * marker, so wait until no message came for `quietMs` (at most `maxMs`).
   */
  async settled(quietMs = 300, maxMs = 30_000): Promise<void> {
    const start = Date.now();
    while (Date.now() - this.lastMessageMs < quietMs && Date.now() - start < maxMs) {
      await new Promise((r) => setTimeout(r, Math.max(20, quietMs - (Date.now() - this.lastMessageMs))));
    }
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.lastMessageMs = Date.now();
    const statusOf = deviceOfTopic(topic, 'status');
    if (statusOf !== undefined) {
      if (payload.length === 0) this.reports.delete(statusOf);
      else this.readStatus(statusOf, payload);
      this.emit('change', statusOf);
      return;
    }
    const availabilityOf = deviceOfTopic(topic, 'availability');
    if (availabilityOf === undefined) return;
    this.online.set(availabilityOf, payload.toString('utf8') === 'online');
    this.emit('change', availabilityOf);
  }

  private readStatus(deviceId: string, payload: Buffer): void {
    try {
      this.reports.set(deviceId, parseStatus(deviceId, payload));
      this.problems.delete(deviceId);
    } catch (err) {
      this.problems.set(deviceId, describe(err));
    }
  }
}
