/**
 * The inventory part of a status document (pure): slots, agent version, kernel, network and vendor
 * attributes, each optional (older agents send less), read leniently (a member of the wrong shape is left
 * out, as from an older agent) and bounded: a device cannot grow the registry without limit.
 */
import { ATTRIBUTE_KEY, MAX_ATTRIBUTE_CHARS, type DeviceDocument } from '../registry/index.js';
import type { DeviceReport } from './report.js';

/** What a device reports of itself beside its update state. */
export interface Inventory {
  /** Slot name -> state (`good`, `trial`, `bad`). */
  readonly slots: Readonly<Record<string, string>>;
  readonly agentVersion?: string;
  readonly kernel?: string;
  /** Interface -> address, or whatever the device reports as string pairs. */
  readonly network?: Readonly<Record<string, string>>;
  /** Vendor attributes (name -> value). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Most pairs kept of one map (slots, network, attributes). */
export const MAX_PAIRS = 64;
const SHORT = /^[\x20-\x7e]{1,128}$/;

/** A map of string pairs, keys matching ATTRIBUTE_KEY, values cut to MAX_ATTRIBUTE_CHARS; at most MAX_PAIRS, the first by key. */
export function readPairs(v: unknown): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (Object.keys(out).length >= MAX_PAIRS) break;
    if (ATTRIBUTE_KEY.test(k) && typeof x === 'string') out[k] = x.slice(0, MAX_ATTRIBUTE_CHARS);
  }
  return out;
}

function short(v: unknown): string | undefined {
  return typeof v === 'string' && SHORT.test(v) ? v : undefined;
}

/** The inventory of a parsed status document object. */
export function readInventory(v: Readonly<Record<string, unknown>>): Inventory {
  const agentVersion = short(v['agentVersion']);
  const kernel = short(v['kernel']);
  const network = readPairs(v['network']);
  return {
    slots: readPairs(v['slots']) ?? {}, attributes: readPairs(v['attributes']) ?? {},
    ...(agentVersion === undefined ? {} : { agentVersion }), ...(kernel === undefined ? {} : { kernel }), ...(network === undefined ? {} : { network }),
  };
}

/** A checked report as the registry stores it, received at `receivedMs` (the fleet's clock). */
export function documentOf(r: DeviceReport, receivedMs: number): DeviceDocument {
  const inv = r.inventory;
  return {
    deviceId: r.deviceId, hardware: r.hardware ?? null, version: r.version, name: r.name ?? null, phase: r.phase, booted: r.booted,
    slots: inv?.slots ?? {}, agentVersion: inv?.agentVersion ?? null, kernel: inv?.kernel ?? null, network: inv?.network ?? null,
    attributes: inv?.attributes ?? {}, lastError: r.lastError, lastOutcome: r.lastUpdate?.outcome ?? null, lastOutcomeVersion: r.lastUpdate?.version ?? null,
    bootId: r.bootId, seq: r.seq, reportedAt: r.updatedAt, receivedMs,
  };
}
