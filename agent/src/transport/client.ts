/**
 * The MQTT transport: one mqtt.js client per connection attempt, with mqtt.js's
 * own reconnect off. We reconnect ourselves with full-jitter backoff after any
 * close, including a CONNACK refusal (mqtt.js gives up there). After every
 * connect: subscribe, announce `online` (the LWT says `offline`), republish the
 * latest status, and resync the rollout document over HTTPS (brokers lose
 * retained messages; a failed resync is retried with the same full-jitter
 * backoff while connected). Bounded: one client, one reconnect timer, one resync
 * (and its retry timer), the latest status, one pending entry per running round-trip.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { describe, OtaError } from '../errors/index.js';
import { Backoff, wallClock, type Clock } from '../time/index.js';
import type { TransportConfig } from './config.js';
import { statusDocument } from './status.js';
import type { StatusFields } from './status.js';
import { topicsFor } from './topics.js';
import { MAX_PACKET_BYTES, PacketSizeWatch } from './packets.js';
import type { Topics } from './topics.js';

/** The one value that says how the connection stands. */
export type ConnectionState =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'connected'; readonly sessionPresent: boolean }
  | { readonly kind: 'waiting'; readonly attempt: number; readonly delayMs: number; readonly lastError: string };

/** A candidate notice: opaque bytes for the verifier, and where it came from. */
export interface NoticeMessage {
  readonly source: 'notice' | 'rollout' | 'resync';
  readonly payload: Uint8Array;
}

/** Fetches the current rollout document over HTTPS (the fleet's server); undefined when there is none. */
export interface RolloutResync {
  fetchCurrent(signal: AbortSignal): Promise<Uint8Array | undefined>;
  /** Fetch `channel`'s document from now on (optional: a resync of one fixed document ignores channels). */
  followChannel?(channel: string): void;
}

/** Optional dependencies; defaults are the real ones. */
export interface TransportDeps {
  readonly random?: () => number;
  /** The clock and timers the reconnect uses; the wall clock by default (it dates the status documents). */
  readonly clock?: Clock;
  readonly resync?: RolloutResync;
  /** Reads TLS files; default fs.readFileSync. */
  readonly readFile?: (path: string) => Buffer;
}

/** The transport's events. */
export interface TransportEvents {
  state: [ConnectionState];
  notice: [NoticeMessage];
  /** Something went wrong that the transport handled (a publish failed, the resync failed). */
  warning: [string];
  /** A resync finished: `found` says whether the fleet's server had a current document. */
  resynced: [{ readonly found: boolean }];
}

const ONLINE = 'online';
const OFFLINE = 'offline';

/** The device's MQTT connection. */
export class Transport extends EventEmitter<TransportEvents> {
  /** The device's topics (the rollout topic changes with followChannel). */
  topics: Topics;
  private state: ConnectionState = { kind: 'stopped' };
  private client: MqttClient | undefined;
  private cancelRetry: (() => void) | undefined;
  private resyncing: AbortController | undefined;
  private cancelResyncRetry: (() => void) | undefined;
  private readonly backoff: Backoff;
  private readonly resyncBackoff: Backoff;
  private readonly clock: Clock;
  private status: StatusFields | undefined;
  private statusSeq = 0;
  /** Settles when the broker acknowledged (or refused) the last status document sent. */
  private statusSent: Promise<void> = Promise.resolve();
  private readonly pings = new Map<string, () => void>();
  /** The MQTT level of the next attempt: the config's, or 4 once the broker refused 5. */
  private protocolVersion: 4 | 5;

  constructor(private readonly config: TransportConfig, private readonly deps: TransportDeps = {}) {
    super();
    this.protocolVersion = config.protocolVersion;
    this.topics = topicsFor(config.deviceId, config.hardware);
    this.clock = deps.clock ?? wallClock;
    this.backoff = new Backoff(config.backoff, deps.random ?? Math.random, this.clock);
    this.resyncBackoff = new Backoff(config.backoff, deps.random ?? Math.random, this.clock);
  }

  /** How the connection stands now. */
  get connection(): ConnectionState { return this.state; }

  /** Listen on `channel`'s retained rollout topic (and resync its document) instead of the current one's. */
  followChannel(channel: string): void {
    const next = topicsFor(this.config.deviceId, this.config.hardware, channel);
    const old = this.topics.rollout;
    this.deps.resync?.followChannel?.(channel);
    if (next.rollout === old) return;
    this.topics = next;
    if (this.state.kind !== 'connected' || this.client === undefined) return;
    this.client.unsubscribe(old);
    this.client.subscribe(next.rollout, { qos: 1 });
    this.resync();
  }

  /** Start connecting (and keep reconnecting until `stop`). */
  start(): void {
    if (this.state.kind !== 'stopped') return;
    this.attempt();
  }

  /** Publish `offline`, disconnect cleanly (the session stays on the broker), cancel every timer. */
  async stop(): Promise<void> {
    this.setState({ kind: 'stopped' });
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    this.stopResync();
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    // Our listeners stay (they check `client === this.client`, now false): mqtt.js's own
    // listeners must stay too, its 'close' handler clears the CONNACK timer.
    if (!client.connected) {
      // Nothing to say goodbye to: destroy the socket (its close clears mqtt.js's timers).
      await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
      return;
    }
    client.publish(this.topics.availability, OFFLINE, { qos: 1, retain: true });
    await new Promise<void>((resolve) => {
      // DISCONNECT, then wait for the broker to close; a broker that does not gets the socket destroyed.
      const cancel = this.clock.schedule(() => client.end(true, {}, () => resolve()), 2000);
      client.end(false, {}, () => { cancel(); resolve(); });
    });
  }

  /** Set the status; published retained now if connected, else on the next connect. */
  publishStatus(fields: StatusFields): void {
    this.status = fields;
    this.sendStatus();
  }

  /**
   * The health check's fleet round-trip: publish a nonce to our ping topic and see
   * it come back through the broker. Waits for a connection; `signal` bounds it.
   */
  async roundTrip(signal: AbortSignal): Promise<void> {
    const client = await this.connected(signal);
    const nonce = randomBytes(12).toString('hex');
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { cleanup(); reject(unreachable('no ping echo')); };
      const cleanup = (): void => { this.pings.delete(nonce); signal.removeEventListener('abort', onAbort); };
      this.pings.set(nonce, () => { cleanup(); resolve(); });
      signal.addEventListener('abort', onAbort, { once: true });
      client.publish(this.topics.ping, nonce, { qos: 1 }, (err) => {
        if (err !== undefined && err !== null) { cleanup(); reject(unreachable(describe(err))); }
      });
    });
  }

  private connected(signal: AbortSignal): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.state.kind === 'connected' && this.client !== undefined) { done(); resolve(this.client); }
      };
      // The broker's own refusal (a CONNACK reason, a TLS error) says more than "not connected".
      const why = (): string => (this.state.kind === 'waiting' ? `not connected: ${this.state.lastError}` : `not connected (${this.state.kind})`);
      const onAbort = (): void => { done(); reject(unreachable(why())); };
      const done = (): void => { this.off('state', check); signal.removeEventListener('abort', onAbort); };
      if (signal.aborted) { onAbort(); return; }
      this.on('state', check);
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.emit('state', state);
  }

  private attempt(): void {
    this.cancelRetry = undefined;
    this.setState({ kind: 'connecting', attempt: this.backoff.attempts });
    let client: MqttClient;
    try {
      client = connect(this.config.url, this.options());
    } catch (err) {
      // A TLS file unreadable now (being renewed?) may be fine later: retry like any failure.
      this.retry(`connect to ${this.config.url}: ${describe(err)}`);
      return;
    }
    this.client = client;
    let lastError = 'connection closed';
    const watch = new PacketSizeWatch(MAX_PACKET_BYTES, (packetBytes) => {
      lastError = `an incoming packet of ${packetBytes} bytes is over the ${MAX_PACKET_BYTES}-byte limit; dropped with the connection (set the broker's message_size_limit, or use MQTT 5)`;
      this.emit('warning', lastError);
      client.stream.destroy();
    });
    client.stream.on('data', (chunk: Buffer) => watch.feed(chunk));
    client.on('connect', (connack) => { if (client === this.client) this.onConnect(client, connack.sessionPresent); });
    client.on('message', (topic, payload) => { if (client === this.client) this.onMessage(topic, payload); });
    client.on('error', (err) => {
      lastError = `${describe(err)}${this.protocolVersion === 5 ? ' (MQTT 5)' : ' (MQTT 3.1.1)'}`;
      // A broker that speaks only MQTT 3.1.1 (ota-fleet serve, old mosquitto) refuses 5 in its CONNACK:
      // retrying 5 can never work, 3.1.1 does (mqtt.protocolVersion 4 skips the first try).
      if (this.protocolVersion === 5 && refusesProtocol(err)) {
        this.protocolVersion = 4;
        this.emit('warning', `${this.config.url} refused MQTT 5 (${describe(err)}): falling back to MQTT 3.1.1; set mqtt.protocolVersion to 4 to skip this`);
      }
    });
    client.on('close', () => this.onClose(client, lastError));
    client.on('end', () => this.onClose(client, lastError));
  }

  private onConnect(client: MqttClient, sessionPresent: boolean): void {
    this.backoff.connected();
    this.setState({ kind: 'connected', sessionPresent });
    const t = this.topics;
    client.subscribe([t.notice, t.rollout, t.ping], { qos: 1 }, (err) => {
      if (err !== undefined && err !== null) this.emit('warning', `subscribe on ${this.config.url}: ${describe(err)}`);
    });
    client.publish(t.availability, ONLINE, { qos: 1, retain: true });
    this.sendStatus();
    this.resync();
  }

  /** Fetch the current rollout document; on failure try again after a backoff delay, while this connection lasts. */
  private resync(): void {
    const resync = this.deps.resync;
    if (resync === undefined) return;
    this.stopResync();
    const controller = new AbortController();
    this.resyncing = controller;
    resync.fetchCurrent(controller.signal).then((payload) => {
      if (controller.signal.aborted) return;
      this.resyncBackoff.reset();
      this.emit('resynced', { found: payload !== undefined });
      if (payload !== undefined) this.emit('notice', { source: 'resync', payload });
    }, (err: unknown) => {
      if (controller.signal.aborted) return;
      const delayMs = this.resyncBackoff.nextDelayMs();
      this.emit('warning', `rollout resync over HTTPS failed: ${describe(err)}; retrying in ${delayMs} ms`);
      this.cancelResyncRetry = this.clock.schedule(() => { this.cancelResyncRetry = undefined; this.resync(); }, delayMs);
    });
  }

  /** Abort a running resync and its pending retry (the connection closed, or a new resync starts). */
  private stopResync(): void {
    this.resyncing?.abort();
    this.resyncing = undefined;
    this.cancelResyncRetry?.();
    this.cancelResyncRetry = undefined;
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.topics.ping) this.pings.get(payload.toString('utf8'))?.();
    else if (topic === this.topics.notice) this.emit('notice', { source: 'notice', payload });
    // An empty retained message clears the rollout: nothing to offer.
    else if (topic === this.topics.rollout && payload.length > 0) this.emit('notice', { source: 'rollout', payload });
  }

  private onClose(client: MqttClient, lastError: string): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.stopResync();
    client.end(true);
    this.retry(lastError);
  }

  private retry(lastError: string): void {
    if (this.state.kind === 'stopped') return;
    const delayMs = this.backoff.nextDelayMs();
    this.setState({ kind: 'waiting', attempt: this.backoff.attempts, delayMs, lastError });
    this.cancelRetry = this.clock.schedule(() => this.attempt(), delayMs);
  }

  private sendStatus(): void {
    const client = this.client;
    if (this.status === undefined || client === undefined || this.state.kind !== 'connected') return;
    const doc = statusDocument(this.status, this.config.deviceId, ++this.statusSeq, new Date(this.clock.nowMs()));
    this.statusSent = new Promise((resolve) => {
      client.publish(this.topics.status, JSON.stringify(doc), { qos: 1, retain: true }, (err) => {
        if (err !== undefined && err !== null) this.emit('warning', `publish status: ${describe(err)}`);
        resolve();
      });
    });
  }

  /**
   * Waits until the broker acknowledged the last status document sent, for at most `timeoutMs`;
   * true when it did. Before a reboot: a forced reboot would otherwise drop the last phase.
   */
  async flushStatus(timeoutMs: number): Promise<boolean> {
    let cancel: (() => void) | undefined;
    const timedOut = new Promise<boolean>((resolve) => { cancel = this.clock.schedule(() => resolve(false), timeoutMs); });
    try {
      return await Promise.race([this.statusSent.then(() => true), timedOut]);
    } finally {
      cancel?.();
    }
  }

  private options(): IClientOptions {
    const c = this.config;
    const read = this.deps.readFile ?? ((p: string) => readFileSync(p));
    return {
      clientId: c.deviceId, protocolVersion: this.protocolVersion, clean: false, keepalive: c.keepaliveSec,
      connectTimeout: c.connectTimeoutMs, reconnectPeriod: 0, resubscribe: false,
      // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers (~8 MB of heap) on the first packet.
      writeCache: false,
      will: { topic: this.topics.availability, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
      // MQTT 5: the broker drops a message over the limit for this client instead of sending it.
      ...(this.protocolVersion === 5 ? { properties: { sessionExpiryInterval: c.sessionExpirySec, maximumPacketSize: MAX_PACKET_BYTES } } : {}),
      ...(c.username === undefined ? {} : { username: c.username }),
      ...(c.password === undefined ? {} : { password: c.password }),
      ...(c.tls?.caFile === undefined ? {} : { ca: read(c.tls.caFile) }),
      ...(c.tls?.certFile === undefined ? {} : { cert: read(c.tls.certFile) }),
      ...(c.tls?.keyFile === undefined ? {} : { key: read(c.tls.keyFile) }),
    };
  }
}

function unreachable(why: string): OtaError {
  return new OtaError('FLEET_UNREACHABLE', `MQTT round-trip to the broker failed: ${why}: check the network and the broker`, { transient: true });
}

/** CONNACK codes that refuse the protocol level: 3.1.1's return code 1, MQTT 5's reason 0x84. */
const PROTOCOL_REFUSED = new Set([1, 0x84]);

/** True when `err` is the broker's CONNACK refusing our MQTT level (mqtt.js puts the code on the error). */
function refusesProtocol(err: unknown): boolean {
  const code: unknown = typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
  return typeof code === 'number' && PROTOCOL_REFUSED.has(code);
}
