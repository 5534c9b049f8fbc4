/**
 * Lightweight simulated devices for fleet tests and `bench:fleet`: one mqtt.js
 * client per device (client id = device id, persistent session, LWT, the agents'
 * real full-jitter backoff), subscribed to its rollout and notice topics. A
 * notice is judged by the real agent-side verifier (`verifyNotice`, with the
 * device's trust state kept in memory); an accepted one runs through the agent's
 * phases, publishing the same retained status document the agent publishes,
 * and ends committed, or reverted with an error for a device told to fail.
 * With `sharedVerify` (the benchmark) the signatures of a given notice are
 * checked once per process and each device then applies the verifier's
 * targeting and version checks itself, since ed25519 in JS costs milliseconds.
 */
import { createHash } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import {
  Refusal, audienceIncludes, isRefusal, readNotice, readRelease, readRollout, type ReleaseMetadata, type RolloutMetadata,
} from '../../agent/src/formats/index.js';
import { statusDocument, topicsFor, type LastUpdateStatus, type Topics } from '../../agent/src/transport/index.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from '../../agent/src/time/index.js';
import { loadRoot, verifyNotice, type TrustState, type TrustedRoot } from '../../agent/src/trust/index.js';

/** How the simulated devices behave. */
export interface SimOptions {
  readonly url: string;
  readonly protocolVersion: 4 | 5;
  readonly hardware: string;
  /** The fleet's root.json the devices are provisioned with. */
  readonly rootBytes: Uint8Array;
  /** Time each phase of an install takes. */
  readonly stepMs: number;
  readonly sharedVerify?: boolean;
  readonly backoff?: BackoffOptions;
  readonly nowMs?: () => number;
  /** Called when a rollout or notice message arrives (before it is judged). */
  readonly onMessage?: (deviceId: string, atMs: number) => void;
  /** Called when a device starts installing a release. */
  readonly onInstall?: (deviceId: string, version: number) => void;
  /** Called on every successful connect. */
  readonly onConnect?: (deviceId: string, atMs: number) => void;
}

/** One device's start. */
export interface SimDeviceSpec {
  readonly deviceId: string;
  readonly version: number;
  /** Fail the health check of every update (revert, report the error). */
  readonly fail?: boolean;
  /** Inventory attributes its status documents carry. */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** High-resolution wall time in ms (comparable across processes on one host). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

interface Judged { readonly release: ReleaseMetadata; readonly rollout: RolloutMetadata }

/** Per-process cache of notices whose signatures were checked (sharedVerify). */
const checked = new Map<string, Judged | Refusal>();

const PHASES_OK = ['verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting', 'checking', 'committing', 'reporting'];
const PHASES_FAIL = ['verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting', 'checking', 'reverting', 'reporting'];

/** One simulated device. */
export class SimDevice {
  /** Release versions this device started installing. */
  readonly installs: number[] = [];
  /** Refusal reasons of notices it dropped. */
  readonly refusals: string[] = [];
  version: number;
  private trust: TrustState;
  private busy = false;
  private phase = 'idle';
  private progress: number | null = null;
  private lastError: string | null = null;
  private lastUpdate: LastUpdateStatus | null = null;
  private seq = 0;
  /** The last status it published (for failure reports). */
  lastPublished = '';
  /** The sequence number of the last status document the broker acknowledged (QoS 1). */
  ackedSeq = 0;
  /** True when the broker acknowledged the last status document this device published. */
  get statusAcked(): boolean { return this.ackedSeq === this.seq; }
  private client: MqttClient | undefined;
  private readonly topics: Topics;
  private readonly backoff: Backoff;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly spec: SimDeviceSpec, private readonly o: SimOptions, trusted: TrustedRoot) {
    this.version = spec.version;
    this.topics = topicsFor(spec.deviceId, o.hardware);
    this.trust = { trusted, installedVersion: spec.version, rolloutVersion: 0, timeFloorMs: 0, failedVersions: [] };
    this.backoff = new Backoff(o.backoff ?? DEFAULT_BACKOFF, Math.random, { nowMs: () => this.now() });
  }

  /** The device's id (its MQTT client id). */
  get deviceId(): string { return this.spec.deviceId; }
  /** True while its MQTT connection is up. */
  get connected(): boolean { return this.client?.connected === true; }

  /** Connect (and keep reconnecting with the agents' backoff until `stop`). */
  start(): void {
    const c = connect(this.o.url, {
      clientId: this.spec.deviceId, protocolVersion: this.o.protocolVersion, clean: false, reconnectPeriod: 0, keepalive: 60,
      connectTimeout: 30_000, writeCache: false, resubscribe: false,
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(this.o.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    });
    this.client = c;
    c.on('connect', () => this.onConnect(c));
    c.on('message', (topic, payload) => this.onMessage(topic, payload));
    c.on('error', () => undefined);
    c.on('close', () => this.onClose(c));
  }

  /** Disconnect for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
    for (const t of this.timers) clearTimeout(t);
    const c = this.client;
    if (c !== undefined) await c.endAsync(true).catch(() => undefined);
  }

  private now(): number { return (this.o.nowMs ?? Date.now)(); }

  private onConnect(c: MqttClient): void {
    this.backoff.connected();
    this.o.onConnect?.(this.spec.deviceId, wallMs());
    c.subscribe([this.topics.rollout, this.topics.notice], { qos: 1 });
    c.publish(this.topics.availability, 'online', { qos: 1, retain: true });
    this.publishStatus();
  }

  private onClose(c: MqttClient): void {
    if (this.stopped || c !== this.client || this.retry !== undefined) return;
    this.retry = setTimeout(() => { this.retry = undefined; if (!this.stopped) c.reconnect(); }, this.backoff.nextDelayMs());
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (payload.length === 0 || (topic !== this.topics.rollout && topic !== this.topics.notice)) return;
    this.o.onMessage?.(this.spec.deviceId, wallMs());
    let judged: Judged;
    try {
      judged = this.judge(payload);
    } catch (err) {
      this.refusals.push(isRefusal(err) ? err.reason : String(err));
      return;
    }
    this.trust = { ...this.trust, rolloutVersion: Math.max(this.trust.rolloutVersion, judged.rollout.version) };
    // Never two installs at once: a notice arriving during one is dropped here (the agent queues it).
    if (this.busy) return;
    this.install(judged.release.version);
  }

  private judge(payload: Buffer): Judged {
    const input = { notice: payload, state: this.trust, device: { hardwareId: this.o.hardware, deviceId: this.spec.deviceId }, nowMs: this.now(), buildTimeMs: 0 };
    if (this.o.sharedVerify !== true) return verifyNotice(input);
    const key = createHash('sha256').update(payload).digest('hex');
    let entry = checked.get(key);
    if (entry === undefined) {
      entry = checkOnce(payload, this.trust, input.nowMs);
      checked.set(key, entry);
    }
    if (entry instanceof Refusal) throw entry;
    return targetingAndVersions(entry, this.trust, this.spec.deviceId);
  }

  private install(version: number): void {
    this.busy = true;
    this.installs.push(version);
    this.o.onInstall?.(this.spec.deviceId, version);
    const phases = this.spec.fail === true ? PHASES_FAIL : PHASES_OK;
    // Each phase schedules the next: timers of different lengths set at once may fire out of
    // order when the event loop stalls (a loaded CI machine), which left a device "reporting" for good.
    const enter = (k: number): void => {
      const phase = phases[k];
      if (phase === undefined) {
        this.finish(version);
        return;
      }
      this.phase = phase;
      this.progress = phase === 'installing' ? 0.5 : null;
      this.publishStatus();
      this.later(this.o.stepMs, () => enter(k + 1));
    };
    this.later(0, () => enter(0));
  }

  private finish(version: number): void {
    if (this.spec.fail === true) {
      this.lastError = `health check failed: required check "fleet" timed out (release ${version} reverted)`;
      this.trust = { ...this.trust, failedVersions: [...this.trust.failedVersions, version] };
      // as the agent reports it: the message (lastError) and its stable code
      this.lastUpdate = { outcome: 'reverted', version: String(version), error: this.lastError, errorCode: 'HEALTH_REQUIRED_FAILED' };
    } else {
      this.lastUpdate = { outcome: 'installed', version: String(version), error: null, errorCode: null };
      this.version = version;
      this.lastError = null;
      this.trust = { ...this.trust, installedVersion: version };
    }
    this.phase = 'idle';
    this.progress = null;
    this.busy = false;
    this.publishStatus();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  private publishStatus(): void {
    const c = this.client;
    if (c === undefined || !c.connected) return;
    this.lastPublished = `${this.phase} v${this.version} (seq ${this.seq + 1})`;
    const doc = statusDocument({
      version: String(this.version), hardware: this.o.hardware, lastUpdate: this.lastUpdate, slots: { A: 'good', B: this.phase === 'idle' ? 'good' : 'trial' }, booted: 'A', phase: this.phase,
      progress: this.progress, lastError: this.lastError, bootId: `boot-${this.spec.deviceId}`,
      ...(this.spec.attributes === undefined ? {} : { attributes: this.spec.attributes }),
    }, this.spec.deviceId, ++this.seq, new Date(this.now()));
    const seq = this.seq;
    c.publish(this.topics.status, JSON.stringify(doc), { qos: 1, retain: true }, (err) => { if (err === undefined || err === null) this.ackedSeq = Math.max(this.ackedSeq, seq); });
  }
}

/** Signatures, expiry and the release/rollout binding, once per notice (the device-independent checks). */
function checkOnce(payload: Uint8Array, trust: TrustState, nowMs: number): Judged | Refusal {
  try {
    const accepted = verifyNotice({ notice: payload, state: { ...trust, installedVersion: 0, failedVersions: [], rolloutVersion: 0 }, device: { hardwareId: 'any' }, nowMs, buildTimeMs: 0 });
    return { release: accepted.release, rollout: accepted.rollout };
  } catch (err) {
    if (!isRefusal(err)) throw err;
    // Hardware and device are checked after every signature: those refusals mean the notice itself is sound.
    if (err.reason !== 'wrong-hardware' && err.reason !== 'wrong-device') return err;
    const n = readNotice(payload);
    return { release: readRelease(n.release, 'notice.release'), rollout: readRollout(n.rollout, 'notice.rollout') };
  }
}

/** The verifier's per-device checks (targeting, rollout order, version floor, failed before). */
function targetingAndVersions(j: Judged, trust: TrustState, deviceId: string): Judged {
  if (!audienceIncludes(j.rollout.audience, deviceId, undefined)) throw new Refusal('wrong-device', `rollout ${j.rollout.version} does not target ${deviceId}`);
  if (j.rollout.version < trust.rolloutVersion) throw new Refusal('rollback', 'older rollout');
  if (j.release.version <= trust.installedVersion) throw new Refusal(j.release.version === trust.installedVersion ? 'already-installed' : 'rollback', 'version floor');
  if (trust.failedVersions.includes(j.release.version)) throw new Refusal('failed-before', 'failed before');
  return j;
}

/** A set of simulated devices sharing options and the verified root. */
export class SimFleet {
  readonly devices: SimDevice[];

  constructor(specs: readonly SimDeviceSpec[], o: SimOptions) {
    const trusted = loadRoot(o.rootBytes, 'root.json');
    this.devices = specs.map((s) => new SimDevice(s, o, trusted));
  }

  /** Connect every device, `batch` at a time; resolves once all are connected. */
  async start(batch = 50): Promise<void> {
    for (let k = 0; k < this.devices.length; k += batch) {
      const group = this.devices.slice(k, k + batch);
      for (const d of group) d.start();
      await until(() => group.every((d) => d.connected), 60_000);
    }
  }

  /** Resolve when every device is connected again (after a broker restart). */
  allConnected(timeoutMs: number): Promise<void> {
    return until(() => this.devices.every((d) => d.connected), timeoutMs);
  }

  /** Disconnect every device. */
  async stop(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.stop()));
  }
}

/** Poll `cond` every 20 ms until true; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Poll the async `cond` every 50 ms until true; rejects after `timeoutMs`. */
export async function untilAsync(cond: () => Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
