/**
 * The `mqtt` section of the agent config, validated once. TLS material is named
 * by file path (read when the transport starts), never inlined in the config.
 */
import { OtaError } from '../errors/index.js';
import { DEFAULT_BACKOFF } from '../time/index.js';
import type { BackoffOptions } from '../time/index.js';
import { checkLevel } from './topics.js';

/** TLS files: CA bundle for the broker, client certificate and key for the device. */
export interface TlsFiles {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** Everything the transport needs to reach the broker. */
export interface TransportConfig {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  readonly url: string;
  /** Client id and topic level: stable per device. */
  readonly deviceId: string;
  /** Hardware type: selects the rollout topic. */
  readonly hardware: string;
  /** MQTT 5 (default) or 3.1.1 (4) as a fallback for old brokers. */
  readonly protocolVersion: 4 | 5;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: TlsFiles;
  /** How long the broker keeps the session (subscriptions, queued QoS 1 notices) while offline. MQTT 5 only. */
  readonly sessionExpirySec: number;
  readonly keepaliveSec: number;
  /** A connect attempt without CONNACK by then has failed. */
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffOptions;
}

function bad(field: string, want: string): never {
  throw new OtaError('CONFIG_INVALID', `agent config: mqtt.${field}: want ${want}: fix the config file`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An unknown field is an error: a typo never silently falls back to a default. */
function onlyKeys(o: Record<string, unknown>, prefix: string, allowed: readonly string[]): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) bad(`${prefix}${extra}`, `nothing: unknown field (known: ${allowed.join(', ')})`);
}

const KEYS = ['url', 'deviceId', 'hardware', 'protocolVersion', 'username', 'password', 'tls', 'sessionExpirySec',
  'keepaliveSec', 'connectTimeoutMs', 'backoff'] as const;

function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') bad(key, 'a non-empty string');
  return v;
}

function positive(o: Record<string, unknown>, key: string, fallback: number): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(key, 'a positive integer');
  return v;
}

/** Validate the `mqtt` section. */
export function parseTransportConfig(value: unknown): TransportConfig {
  if (!isRecord(value)) bad('', 'an object');
  onlyKeys(value, '', KEYS);
  const url = optString(value, 'url') ?? bad('url', 'mqtt://HOST:PORT or mqtts://HOST:PORT');
  if (!/^mqtts?:\/\/[^/]+/.test(url)) bad('url', 'mqtt://HOST:PORT or mqtts://HOST:PORT');
  const deviceId = checkLevel(optString(value, 'deviceId') ?? bad('deviceId', 'the device id'), 'mqtt.deviceId');
  const hardware = checkLevel(optString(value, 'hardware') ?? bad('hardware', 'the hardware type'), 'mqtt.hardware');
  const protocolVersion = value['protocolVersion'] ?? 5;
  if (protocolVersion !== 4 && protocolVersion !== 5) bad('protocolVersion', '5 (MQTT 5) or 4 (MQTT 3.1.1)');
  const b = value['backoff'] ?? {};
  if (!isRecord(b)) bad('backoff', 'an object');
  onlyKeys(b, 'backoff.', ['baseMs', 'capMs', 'stableAfterMs']);
  const backoff: BackoffOptions = {
    baseMs: positive(b, 'baseMs', DEFAULT_BACKOFF.baseMs),
    capMs: positive(b, 'capMs', DEFAULT_BACKOFF.capMs),
    stableAfterMs: positive(b, 'stableAfterMs', DEFAULT_BACKOFF.stableAfterMs),
  };
  const tls = value['tls'];
  if (tls !== undefined && !isRecord(tls)) bad('tls', 'an object with caFile, certFile, keyFile');
  const username = optString(value, 'username');
  const password = optString(value, 'password');
  return {
    url, deviceId, hardware, protocolVersion, backoff,
    sessionExpirySec: positive(value, 'sessionExpirySec', 7 * 24 * 3600),
    keepaliveSec: positive(value, 'keepaliveSec', 60),
    connectTimeoutMs: positive(value, 'connectTimeoutMs', 30_000),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls: parseTls(tls) }),
  };
}

function parseTls(tls: Record<string, unknown>): TlsFiles {
  onlyKeys(tls, 'tls.', ['caFile', 'certFile', 'keyFile']);
  const caFile = optString(tls, 'caFile');
  const certFile = optString(tls, 'certFile');
  const keyFile = optString(tls, 'keyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) bad('tls', 'certFile and keyFile together');
  return { ...(caFile === undefined ? {} : { caFile }), ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }) };
}
