/**
 * `ota-fleet status` output: one row per device, or the JSON form.
 */
import { DEFAULT_CHANNEL, type RefusedNotice } from '../../../agent/src/formats/index.js';
import type { DeviceReport } from './report.js';

/** One device row of `ota-fleet status --json`. */
export interface DeviceRow {
  readonly deviceId: string;
  readonly version: number | null;
  /** The release's human name (`release --name`), null when it has none. */
  readonly name: string | null;
  /** The release channel followed (`stable` for an agent that reports none); null when the document could not be read. */
  readonly channel: string | null;
  readonly phase: string;
  readonly progress: number | null;
  readonly booted: string;
  readonly online: boolean | null;
  readonly lastError: string | null;
  /** The last notice the device refused (only when it reports one). */
  readonly refusedNotice?: RefusedNotice;
  /** Why the status document could not be read (the other fields are then empty). */
  readonly problem?: string;
}

/** The rows, grouped by channel (unreadable documents last), then sorted by device id; `channel` keeps one channel's. */
export function deviceRows(reports: ReadonlyMap<string, DeviceReport>, online: ReadonlyMap<string, boolean>, problems: ReadonlyMap<string, string>, channel?: string): DeviceRow[] {
  const ids = [...new Set([...reports.keys(), ...problems.keys()])].sort();
  const rows = ids.map((id): DeviceRow => {
    const r = reports.get(id);
    const on = online.get(id) ?? null;
    const problem = problems.get(id);
    if (r === undefined) return { deviceId: id, version: null, name: null, channel: null, phase: '?', progress: null, booted: '?', online: on, lastError: null, ...(problem === undefined ? {} : { problem }) };
    return {
      deviceId: id, version: r.version, name: r.name ?? null, channel: r.channel ?? DEFAULT_CHANNEL, phase: r.phase, progress: r.progress, booted: r.booted, online: on, lastError: r.lastError,
      ...(r.refusedNotice === undefined ? {} : { refusedNotice: r.refusedNotice }), ...(problem === undefined ? {} : { problem }),
    };
  });
  const order = (r: DeviceRow): string => (r.channel === null ? '\uffff' : r.channel);
  return rows.filter((r) => channel === undefined || r.channel === channel).sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

/** A refused notice in the table: reason, what it named, when. */
function refusedText(n: RefusedNotice): string {
  return `refused notice (release ${n.release ?? '?'}, rollout ${n.rollout ?? '?'}) at ${n.at}: [${n.reason}]`;
}

const HEADERS = ['DEVICE', 'VERSION', 'CHANNEL', 'PHASE', 'PROGRESS', 'BOOTED', 'ONLINE', 'LAST ERROR'] as const;

/** The human table: aligned columns, the last refused notice and the last error last (they may be long). */
export function formatTable(rows: readonly DeviceRow[]): string {
  const cells = rows.map((r) => [
    r.deviceId, r.version === null ? 'unknown' : `${r.version}${r.name === null ? '' : ` (${r.name})`}`, r.channel ?? '?', r.phase,
    r.progress === null ? '-' : `${Math.round(r.progress * 100)} %`, r.booted,
    r.online === null ? '?' : r.online ? 'yes' : 'no',
    r.problem ?? ([r.refusedNotice === undefined ? null : refusedText(r.refusedNotice), r.lastError].filter((x) => x !== null).join('; ') || '-'),
  ]);
  const widths = HEADERS.map((h, k) => Math.max(h.length, ...cells.map((c) => (c[k] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, k) => (k === c.length - 1 ? x : x.padEnd(widths[k] ?? 0))).join('  ').trimEnd();
  const perChannel = new Map<string, number>();
  for (const r of rows) if (r.channel !== null) perChannel.set(r.channel, (perChannel.get(r.channel) ?? 0) + 1);
  const channels = [...perChannel].map(([c, n]) => `${c} ${n}`).join(', ');
  const summary = `${rows.length} device${rows.length === 1 ? '' : 's'}${perChannel.size > 1 ? ` (${channels})` : ''}`;
  return [line(HEADERS), ...cells.map(line), summary, ''].join('\n');
}
