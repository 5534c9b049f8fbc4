/**
 * Inventory matching (pure): `key=value` conditions on a device's built-in fields or its reported
 * attributes, as `device list --attribute` and dynamic groups use them.
 */
import { OtaError } from '../../../agent/src/errors/index.js';
import type { AttributeMatch, DeviceFilter, DeviceRecord } from './types.js';

/** Built-in fields a condition may name, beside the device's own attributes (which they shadow). */
const BUILT_IN: Readonly<Record<string, (d: DeviceRecord) => string | null>> = {
  hardware: (d) => d.hardware,
  version: (d) => (d.version === null ? 'unknown' : String(d.version)),
  name: (d) => d.name,
  agentVersion: (d) => d.agentVersion,
  kernel: (d) => d.kernel,
  phase: (d) => d.phase,
  booted: (d) => d.booted,
};

/** A key an attribute may have: what the agent's inventory may report (bounded). */
export const ATTRIBUTE_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** The longest attribute value kept. */
export const MAX_ATTRIBUTE_CHARS = 256;

/** Parse `key=value` (the value may hold `=`); USAGE when malformed. */
export function parseMatch(text: string): AttributeMatch {
  const at = text.indexOf('=');
  const key = at < 0 ? text : text.slice(0, at);
  if (at < 0 || !ATTRIBUTE_KEY.test(key)) throw new OtaError('USAGE', `${JSON.stringify(text)}: expected KEY=VALUE with KEY of letters, digits, _ . - (e.g. site=north)`);
  return { key, value: text.slice(at + 1) };
}

/** The value a device has for `key`: a built-in field, else a reported attribute. */
export function valueOf(d: DeviceRecord, key: string): string | null {
  const builtIn = BUILT_IN[key];
  return builtIn !== undefined ? builtIn(d) : d.attributes[key] ?? null;
}

/** True when every condition holds for `d`. */
export function matchesAll(d: DeviceRecord, match: readonly AttributeMatch[]): boolean {
  return match.every((m) => valueOf(d, m.key) === m.value);
}

/** True when `d` passes the filter's own conditions (group membership is resolved by the store). */
export function passes(d: DeviceRecord, f: DeviceFilter): boolean {
  if (d.removedAtMs !== null && f.includeRemoved !== true) return false;
  if (f.version !== undefined && d.version !== f.version) return false;
  if (f.hardware !== undefined && d.hardware !== f.hardware) return false;
  return matchesAll(d, f.attributes ?? []);
}

/** `key=value` as it was given. */
export function formatMatch(m: readonly AttributeMatch[]): string {
  return m.map((x) => `${x.key}=${x.value}`).join(' ');
}
