/**
 * The fleet's view of its devices: an MQTT client subscribed to every retained
 * status document and availability message, keeping the latest of each. The
 * rollout controller plans from it; `ota-fleet status` prints it.
 */
import { EventEmitter } from 'node:events';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { OtaError, describe } from '../../../agent/src/errors/index.js';
import { topicsFor } from '../../../agent/src/transport/index.js';
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
  /** Topics that got a live (not retained) message since the last (re)subscribe. */
  private readonly liveSinceSubscribe = new Set<string>();

  private constructor(readonly client: MqttClient) {
    super();
    // mqtt.js resubscribes on every connect: the broker then sends the retained documents again
    client.on('connect', () => this.liveSinceSubscribe.clear());
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
  }

  /**
   * Subscribe `client` to every status and availability topic, at QoS 0. A broker sends a new
   * subscription's retained messages in one burst, and mosquitto puts QoS 1 deliveries in the
   * client's bounded queue (max_inflight_messages 20 + max_queued_messages 1000 by default) and
   * drops the rest: of 5,000 retained documents a QoS 1 subscriber got 1,020. A QoS 0 delivery is
   * written to the socket at once and dropped only while max_queued_messages packets wait unwritten,
   * which a subscriber reading as fast as it can avoids. A clean session loses nothing QoS 1 would
   * keep: after a reconnect the subscription is made again and the retained documents come again.
   */
  static async attach(client: MqttClient): Promise<StatusBoard> {
    const board = new StatusBoard(client);
    await client.subscribeAsync([STATUS_FILTER, AVAILABILITY_FILTER], { qos: 0 });
    board.lastMessageMs = Date.now();
    return board;
  }

  /**
   * Ask the broker again for the retained status documents of `ids` the board does not hold, by
   * their exact topics, `pageSize` topics per subscription: each page is a burst far below any
   * broker's queue. A page ends when every device of it answered or nothing came for `quietMs`.
   */
  async fetchMissing(ids: readonly string[], pageSize = 500, quietMs = 300): Promise<void> {
    const wanted = ids.filter((id) => !this.reports.has(id) && !this.problems.has(id));
    for (let k = 0; k < wanted.length; k += pageSize) {
      const page = wanted.slice(k, k + pageSize);
      const topics = page.map((id) => topicsFor(id, 'any').status);
      await this.client.subscribeAsync(topics, { qos: 0 });
      await this.settled(quietMs, 10_000, () => page.every((id) => this.reports.has(id) || this.problems.has(id)));
      await this.client.unsubscribeAsync(topics);
    }
  }

  /**
   * Resolve once the retained documents have arrived: MQTT has no end-of-retained
   * marker, so wait until no message came for `quietMs` (at most `maxMs`), or until `done()`.
   */
  async settled(quietMs = 300, maxMs = 30_000, done: () => boolean = () => false): Promise<void> {
    const start = Date.now();
    if (done()) return;
    this.lastMessageMs = Math.max(this.lastMessageMs, start);
    while (!done() && Date.now() - this.lastMessageMs < quietMs && Date.now() - start < maxMs) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(10, quietMs - (Date.now() - this.lastMessageMs)))));
    }
  }

  private onMessage(topic: string, payload: Buffer, packet: Pick<IPublishPacket, 'retain'>): void {
    this.lastMessageMs = Date.now();
    // A broker sends a subscription's retained messages beside the live ones, and may deliver a retained
    // document after a newer live one of the same device (aedes does under load): that one is stale.
    const retainedAfterLive = packet.retain && this.liveSinceSubscribe.has(topic);
    if (!packet.retain) this.liveSinceSubscribe.add(topic);
    if (retainedAfterLive) return;
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
      const report = parseStatus(deviceId, payload);
      if (supersedes(this.reports.get(deviceId), report)) return;
      this.reports.set(deviceId, report);
      this.problems.delete(deviceId);
    } catch (err) {
      this.problems.set(deviceId, describe(err));
    }
  }
}

/** True when `held` is newer than `incoming`: the same boot of the agent, a higher sequence number. */
export function supersedes(held: DeviceReport | undefined, incoming: DeviceReport): boolean {
  return held !== undefined && held.bootId === incoming.bootId && held.seq > incoming.seq;
}
