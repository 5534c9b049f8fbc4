/**
 * Reading the devices' retained status documents (docs/mqtt.md) as the fleet
 * sees them: validated, never cast. The topic names come from the agent's
 * `topics.ts` (the single source); the fleet only adds the `+` wildcard.
 */
import { OtaError } from '../../../agent/src/errors/index.js';
import { TOPIC_ROOT, topicsFor } from '../../../agent/src/transport/index.js';
import { readInventory, type Inventory } from './inventory.js';
import { RELEASE_NAME, isChannelName, readRefusedNotice, utcTime, type RefusedNotice } from '../../../agent/src/formats/index.js';

/** Every device's status document. */
export const STATUS_FILTER = `${TOPIC_ROOT}/+/status`;
/** Every device's `online` / `offline`. */
export const AVAILABILITY_FILTER = `${TOPIC_ROOT}/+/availability`;

/** The last update a device reports, when its status document carries it (optional member `lastUpdate`). */
export interface LastUpdate {
  readonly outcome: string;
  readonly version: number | null;
  /** Why it failed (message, and the error's stable code when typed); absent from older agents and after a success. */
  readonly error?: string;
  readonly errorCode?: string;
}

/** One device's status document, checked. */
export interface DeviceReport {
  readonly deviceId: string;
  /** The release the device runs; null when it reports `unknown`. */
  readonly version: number | null;
  readonly phase: string;
  readonly progress: number | null;
  readonly lastError: string | null;
  readonly booted: string;
  readonly seq: number;
  readonly bootId: string;
  readonly updatedAt: string;
  /** Optional members a newer agent may add: its hardware id, its release's human name, its last update's outcome. */
  readonly hardware?: string;
  readonly name?: string;
  /** The release channel the device follows (an agent without channels reports none: it follows `stable`). */
  readonly channel?: string;
  readonly lastUpdate?: LastUpdate;
  /** The last notice the device refused, and why (an agent that reports it). */
  readonly refusedNotice?: RefusedNotice;
  /** When the device's trusted root expires (an agent that reports it). */
  readonly rootExpiresMs?: number;
  /** Slots, agent version, kernel, network, vendor attributes (inventory.ts); absent only in reports made by hand. */
  readonly inventory?: Inventory;
}

/** The device id of a status (or availability) topic, or undefined for another topic. */
export function deviceOfTopic(topic: string, kind: 'status' | 'availability'): string | undefined {
  const parts = topic.split('/');
  const id = parts[parts.length - 2];
  if (parts.length !== TOPIC_ROOT.split('/').length + 2 || id === undefined) return undefined;
  try {
    return topicsFor(id, 'any')[kind] === topic ? id : undefined;
  } catch {
    return undefined;
  }
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(deviceId: string, what: string): never {
  throw new OtaError('STATUS_INVALID', `status document of device ${deviceId}: ${what}: the device runs an incompatible agent; update it`);
}

function str(o: Obj, key: string, deviceId: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : bad(deviceId, `"${key}" must be a string`);
}

function strOrNull(o: Obj, key: string, deviceId: string): string | null {
  const v = o[key];
  return v === null ? null : typeof v === 'string' ? v : bad(deviceId, `"${key}" must be a string or null`);
}

/** A release version as the agent writes it (`"7"`, or `"unknown"`). */
export function versionOf(text: string): number | null {
  return /^(0|[1-9][0-9]{0,14})$/.test(text) ? Number(text) : null;
}

/** Parse a status payload of `deviceId`; throws STATUS_INVALID when it is not a status document. */
export function parseStatus(deviceId: string, payload: Uint8Array): DeviceReport {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return bad(deviceId, 'not JSON');
  }
  if (!isObj(v) || v['schema'] !== 'ota-status/1') return bad(deviceId, 'not an ota-status/1 document');
  if (v['deviceId'] !== deviceId) bad(deviceId, `"deviceId" ${JSON.stringify(v['deviceId'])} does not match its topic`);
  const seq = v['seq'];
  const progress = v['progress'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) bad(deviceId, '"seq" must be a non-negative integer');
  if (progress !== null && (typeof progress !== 'number' || !(progress >= 0 && progress <= 1))) bad(deviceId, '"progress" must be 0..1 or null');
  const hardware = v['hardware'];
  const name = v['name'];
  const last = v['lastUpdate'];
  const refused = readRefusedNotice(v['refusedNotice']);
  return {
    deviceId, version: versionOf(str(v, 'version', deviceId)), phase: str(v, 'phase', deviceId), progress,
    lastError: strOrNull(v, 'lastError', deviceId), booted: str(v, 'booted', deviceId), seq,
    bootId: str(v, 'bootId', deviceId), updatedAt: str(v, 'updatedAt', deviceId),
    ...(typeof hardware === 'string' ? { hardware } : {}),
    ...(typeof name === 'string' && RELEASE_NAME.test(name) ? { name } : {}),
    ...(typeof v['channel'] === 'string' && isChannelName(v['channel']) ? { channel: v['channel'] } : {}),
    ...(isObj(last) && typeof last['outcome'] === 'string'
      ? { lastUpdate: readLastUpdate(last, last['outcome']) } : {}),
    ...(refused === undefined ? {} : { refusedNotice: refused }),
    ...rootExpiry(v['rootExpires']),
    inventory: readInventory(v),
  };
}

/** `rootExpires` when it is a UTC time as the metadata writes it; anything else is left out, as from an older agent. */
function rootExpiry(v: unknown): { rootExpiresMs?: number } {
  if (typeof v !== 'string') return {};
  try {
    return { rootExpiresMs: utcTime(v, 'rootExpires') };
  } catch {
    return {};
  }
}

function readLastUpdate(last: Obj, outcome: string): LastUpdate {
  const error = last['error'];
  const code = last['errorCode'];
  return {
    outcome, version: lastVersion(last['version']),
    ...(typeof error === 'string' ? { error } : {}), ...(typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? { errorCode: code } : {}),
  };
}

function lastVersion(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  return typeof v === 'string' ? versionOf(v) : null;
}
