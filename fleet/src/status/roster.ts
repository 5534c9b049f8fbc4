/**
 * The roster: every device the fleet tools have ever seen a status document of, kept in a file
 * (`ota-devices.json`, beside the rollout state file). MQTT cannot say how many retained documents
 * a broker holds for a filter, and a broker drops what does not fit a subscriber's queue or loses
 * every retained message on a restart without persistence: the roster is what the view of the
 * fleet is checked against. It is updated from every status document seen; a device leaves it
 * only when the operator forgets it (`ota-fleet roster forget ID`).
 */
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import type { DeviceReport } from './report.js';

/** The roster's default file name (in the directory of the rollout state file, or the working directory). */
export const ROSTER_FILE = 'ota-devices.json';

/** What the roster remembers of one device. */
export interface RosterEntry {
  /** The hardware its last status document named (null when it named none). */
  readonly hardware: string | null;
  /**
   * `updatedAt` of the status document that added the device or changed its hardware (not refreshed by
   * every view: that would rewrite the whole roster at each one).
   */
  readonly lastSeen: string;
}

/** Device id -> entry. */
export type Roster = Readonly<Record<string, RosterEntry>>;

/** What a view saw of the devices the roster expects. */
export interface ViewCheck {
  /** Devices of the roster (of the hardware asked for) the view should hold. */
  readonly expected: number;
  /** Of those, how many the view holds. */
  readonly seen: number;
  /** The expected devices not seen, sorted. */
  readonly missing: readonly string[];
}

/** Read the roster; a missing file is an empty roster; a damaged one is ROSTER_DAMAGED (never overwritten). */
export async function loadRoster(file: string): Promise<Roster> {
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) return {};
  try {
    return readRoster(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (err) {
    throw new OtaError('ROSTER_DAMAGED', `${file}: ${err instanceof Error ? err.message : String(err)}: restore it from a backup, or remove it (the next views rebuild it, unchecked)`, { cause: err });
  }
}

/** Write the roster atomically. */
export async function saveRoster(file: string, roster: Roster): Promise<void> {
  const devices = Object.fromEntries(Object.keys(roster).sort().map((id) => [id, roster[id]]));
  await writeFileAtomic(file, `${JSON.stringify({ format: 'ota-roster/1', devices }, null, 1)}\n`);
}

/** The roster with every report noted; the same object when no device was added or changed hardware. */
export function noteReports(roster: Roster, reports: Iterable<DeviceReport>): Roster {
  let next: Record<string, RosterEntry> | undefined;
  for (const r of reports) {
    const held = roster[r.deviceId];
    const hardware = r.hardware ?? held?.hardware ?? null;
    if (held !== undefined && held.hardware === hardware) continue;
    next ??= { ...roster };
    next[r.deviceId] = { hardware, lastSeen: r.updatedAt };
  }
  return next ?? roster;
}

/** The roster without `ids`; also returns the ids it did not hold. */
export function forgetDevices(roster: Roster, ids: readonly string[]): { roster: Roster; unknown: string[] } {
  const next: Record<string, RosterEntry> = { ...roster };
  const unknown = ids.filter((id) => next[id] === undefined);
  for (const id of ids) delete next[id];
  return { roster: next, unknown };
}

/** Compare the view (`seen`: ids it holds a document of) with the roster, counting only `hardware` when given. */
export function checkView(roster: Roster, seen: { has(id: string): boolean }, hardware?: readonly string[]): ViewCheck {
  const expected = Object.keys(roster).filter((id) => {
    const hw = roster[id]?.hardware ?? null;
    return hardware === undefined || hw === null || hardware.includes(hw);
  });
  const missing = expected.filter((id) => !seen.has(id)).sort();
  return { expected: expected.length, seen: expected.length - missing.length, missing };
}

/** Missing devices a refusal names (the others are counted). */
const NAMED = 5;

/** FLEET_VIEW_INCOMPLETE: what was seen of what was expected, and what to do. */
export function incompleteView(check: ViewCheck, rosterFile: string, what: string): OtaError {
  const named = check.missing.slice(0, NAMED).join(', ');
  const more = check.missing.length > NAMED ? ` and ${check.missing.length - NAMED} more` : '';
  return new OtaError('FLEET_VIEW_INCOMPLETE',
    `${what}: the broker gave status documents of ${check.seen} of the ${check.expected} devices the roster ${rosterFile} knows (missing ${named}${more}): ` +
    'the broker lost them (a restart without persistence) or dropped them (its per-client queue): wait until the devices reconnect and publish again, ' +
    'forget retired devices (ota-fleet roster forget ID), or pass --force to go on with the devices seen');
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function readRoster(v: unknown): Roster {
  if (!isObj(v) || v['format'] !== 'ota-roster/1' || !isObj(v['devices'])) throw new Error('not an ota-roster/1 file');
  const out: Record<string, RosterEntry> = {};
  for (const [id, e] of Object.entries(v['devices'])) {
    if (!isObj(e) || typeof e['lastSeen'] !== 'string' || !(e['hardware'] === null || typeof e['hardware'] === 'string')) throw new Error(`device ${id}: expected {hardware, lastSeen}`);
    out[id] = { hardware: e['hardware'], lastSeen: e['lastSeen'] };
  }
  return out;
}
