/**
 * The `mqtt` section of the agent config, validated once. TLS material is named
 * by file path (read when the transport starts), never inlined in the config.
 */
import { DEFAULT_BACKOFF } from '../time/index.js';
import type { BackoffOptions } from '../time/index.js';
import { Fields } from '../validate/index.js';
import { isTopicLevel } from './topics.js';

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

const KEYS = ['url', 'deviceId', 'hardware', 'protocolVersion', 'username', 'password', 'tls', 'sessionExpirySec',
  'keepaliveSec', 'connectTimeoutMs', 'backoff'] as const;
const MAX = Number.MAX_SAFE_INTEGER;

/**
 * Validate the `mqtt` section into `f` (the agent config's problems; its field paths start with `mqtt.`).
 * Without `f`, the section stands alone and its problems are thrown together.
 */
export function parseTransportConfig(value: unknown, f?: Fields): TransportConfig {
  const fields = f ?? new Fields('mqtt section', { code: 'CONFIG_INVALID', what: 'agent config' });
  const o = fields.object(value, 'mqtt', KEYS);
  const url = fields.string(o['url'], 'mqtt.url');
  if (url !== '' && !/^mqtts?:\/\/[^/]+/.test(url)) fields.problem('mqtt.url', `${JSON.stringify(url)}: want mqtt://HOST:PORT or mqtts://HOST:PORT`);
  const deviceId = topicLevel(fields, o['deviceId'], 'mqtt.deviceId');
  const hardware = topicLevel(fields, o['hardware'], 'mqtt.hardware');
  const protocolVersion = o['protocolVersion'] ?? 5;
  if (protocolVersion !== 4 && protocolVersion !== 5) fields.problem('mqtt.protocolVersion', `${JSON.stringify(protocolVersion)}: want 5 (MQTT 5) or 4 (MQTT 3.1.1)`);
  const b = o['backoff'] === undefined ? {} : fields.object(o['backoff'], 'mqtt.backoff', ['baseMs', 'capMs', 'stableAfterMs']);
  const backoff: BackoffOptions = {
    baseMs: fields.optionalInteger(b['baseMs'], 'mqtt.backoff.baseMs', 1, MAX, DEFAULT_BACKOFF.baseMs),
    capMs: fields.optionalInteger(b['capMs'], 'mqtt.backoff.capMs', 1, MAX, DEFAULT_BACKOFF.capMs),
    stableAfterMs: fields.optionalInteger(b['stableAfterMs'], 'mqtt.backoff.stableAfterMs', 1, MAX, DEFAULT_BACKOFF.stableAfterMs),
  };
  const username = fields.optionalString(o['username'], 'mqtt.username');
  const password = fields.optionalString(o['password'], 'mqtt.password');
  const tls = o['tls'] === undefined ? undefined : parseTls(fields, o['tls']);
  const config: TransportConfig = {
    url, deviceId, hardware, protocolVersion: protocolVersion === 4 ? 4 : 5, backoff,
    sessionExpirySec: fields.optionalInteger(o['sessionExpirySec'], 'mqtt.sessionExpirySec', 1, MAX, 7 * 24 * 3600),
    keepaliveSec: fields.optionalInteger(o['keepaliveSec'], 'mqtt.keepaliveSec', 1, MAX, 60),
    connectTimeoutMs: fields.optionalInteger(o['connectTimeoutMs'], 'mqtt.connectTimeoutMs', 1, MAX, 30_000),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
  };
  if (f === undefined) fields.finish();
  return config;
}

/** A non-empty string that can be one MQTT topic level. */
function topicLevel(f: Fields, value: unknown, path: string): string {
  const text = f.string(value, path);
  if (text !== '' && !isTopicLevel(text)) f.problem(path, `${JSON.stringify(text)} cannot be an MQTT topic level (has / + # or NUL)`);
  return text;
}

function parseTls(f: Fields, value: unknown): TlsFiles {
  const tls = f.object(value, 'mqtt.tls', ['caFile', 'certFile', 'keyFile']);
  const caFile = f.optionalString(tls['caFile'], 'mqtt.tls.caFile');
  const certFile = f.optionalString(tls['certFile'], 'mqtt.tls.certFile');
  const keyFile = f.optionalString(tls['keyFile'], 'mqtt.tls.keyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) f.problem('mqtt.tls', 'want certFile and keyFile together');
  return { ...(caFile === undefined ? {} : { caFile }), ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }) };
}
