/**
 * Release channels (`stable`, `testing`, `next`: the names are the vendor's) and the signed
 * channel switch. A rollout names its channel (absent: `stable`, what every notice meant before
 * channels); a release lists the channels the vendor publishes it on (absent: `stable` only).
 *
 * A channel switch, signed by the rollout role, asks named devices (or cohorts) to follow another
 * channel: `signed` = {"_type":"channel-switch","counter":N,"issued":T,"expires":T,"to":NAME,
 * "audience":{"all":false,"devices":[..],"cohorts":[..]}}. `counter` is the fleet's switch counter
 * (KEYS/switch.json, never reused): a device accepts a switch only with a counter above the last one
 * it accepted, so a switch cannot be replayed. It travels inside a notice (`notice.switch`) beside the
 * target channel's current release and a rollout of it: docs/trust.md, "Release channels".
 */
import { OtaError } from '../../errors/index.js';
import { boolean, identList, known, malformed, member, specVersion, string, uint, utcTime } from './fields.js';
import { expectType, type Envelope } from './envelope.js';
import type { JsonValue } from './json.js';

/** The channel of a device or a notice that names none. */
export const DEFAULT_CHANNEL = 'stable';

/** A channel name: a lowercase letter, then up to 31 lowercase letters, digits, `-` or `_` (it is an MQTT topic level and a file name). */
export const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** The `specVersion` of a rollout for a channel other than `stable`: agents without channels refuse it (`newer-spec`). */
export const CHANNEL_ROLLOUT_SPEC = '2.0';

/** True when `name` is a valid channel name. */
export function isChannelName(name: string): boolean {
  return CHANNEL_NAME.test(name);
}

/** `name` when it is a valid channel name, else an OtaError `CHANNEL_INVALID` naming `what`. */
export function checkChannelName(name: string, what: string): string {
  if (!isChannelName(name)) {
    throw new OtaError('CHANNEL_INVALID', `${what}: ${JSON.stringify(name)} is not a channel name (a lowercase letter, then up to 31 of a-z 0-9 - _; e.g. stable, next)`);
  }
  return name;
}

/** A channel name read from a signed document (`malformed` when it is not one). */
export function readChannelName(v: JsonValue | undefined, path: string): string {
  return string(v, path, CHANNEL_NAME, 'a channel name (a lowercase letter, then up to 31 of a-z 0-9 - _)');
}

/** The channels a release lists (`["stable"]` when it lists none: a release made before channels). */
export function readChannelList(v: JsonValue | undefined, path: string): string[] {
  if (v === undefined) return [DEFAULT_CHANNEL];
  const list = identList(v, path);
  if (list.length === 0) malformed(path, 'must name at least one channel');
  return list.map((c, k) => readChannelName(c, `${path}[${k}]`));
}

/** A checked channel switch. */
export interface ChannelSwitch {
  /** The fleet's switch counter: a device accepts only a counter above the last it accepted. */
  readonly counter: number;
  readonly issuedMs: number;
  readonly expiresMs: number;
  /** The channel to follow. */
  readonly to: string;
  /** Who switches: devices by id and cohorts by name (never `all`: a switch is a decision about named devices). */
  readonly devices: readonly string[];
  readonly cohorts: readonly string[];
}

/** Longest validity of a switch: 30 days (a switch that waits longer should be signed again). */
export const MAX_SWITCH_VALIDITY_MS = 30 * 86_400_000;

/** Check a channel switch's `signed` part (shapes only; the signature is the verifier's). */
export function readChannelSwitch(env: Envelope, path: string): ChannelSwitch {
  const p = `${path}.signed`;
  specVersion(env.signed, p);
  const s = known(env.signed, p, ['_type', 'counter', 'issued', 'expires', 'to', 'audience']);
  expectType(s, 'channel-switch', p);
  const aud = known(member(s, 'audience'), `${p}.audience`, ['all', 'devices', 'cohorts']);
  if (boolean(member(aud, 'all'), `${p}.audience.all`)) malformed(`${p}.audience.all`, 'must be false: a switch names its devices or cohorts');
  const devices = identList(member(aud, 'devices'), `${p}.audience.devices`);
  const cohorts = identList(member(aud, 'cohorts'), `${p}.audience.cohorts`);
  if (devices.length + cohorts.length === 0) malformed(`${p}.audience`, 'must name a device or a cohort');
  const issuedMs = utcTime(member(s, 'issued'), `${p}.issued`);
  const expiresMs = utcTime(member(s, 'expires'), `${p}.expires`);
  if (issuedMs >= expiresMs) malformed(`${p}.issued`, 'must be before "expires"');
  if (expiresMs - issuedMs > MAX_SWITCH_VALIDITY_MS) malformed(`${p}.expires`, 'must be at most 30 days after "issued"');
  const counter = uint(member(s, 'counter'), `${p}.counter`);
  if (counter === 0) malformed(`${p}.counter`, 'must be at least 1');
  return { counter, issuedMs, expiresMs, to: readChannelName(member(s, 'to'), `${p}.to`), devices, cohorts };
}
