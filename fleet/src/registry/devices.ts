/**
 * Devices in the store: ingesting a status document (idempotent, stale ones ignored) and reading rows.
 * A document is stale when the registry holds a later one of the same boot (a higher `seq`), or when its
 * boot id is one the device reported before and left (every boot id seen is kept): a retained document of
 * a past boot delivered late never overwrites the present.
 */
import { OtaError } from '../../../agent/src/errors/index.js';
import { toNumber, toNumberOrNull, toText, toTextOrNull, type SqlDb, type SqlRow, type SqlValue } from './sql.js';
import type { DeviceDocument, DeviceRecord, IngestOutcome } from './types.js';

const COLUMNS = [
  'hardware', 'version', 'name', 'phase', 'booted', 'slots', 'agent_version', 'kernel', 'network', 'attributes',
  'last_error', 'last_outcome', 'last_outcome_version', 'boot_id', 'seq', 'reported_at', 'last_seen_ms',
] as const;

function values(d: DeviceDocument): SqlValue[] {
  return [
    d.hardware, d.version, d.name, d.phase, d.booted, JSON.stringify(d.slots), d.agentVersion, d.kernel,
    d.network === null ? null : JSON.stringify(d.network), JSON.stringify(d.attributes),
    d.lastError, d.lastOutcome, d.lastOutcomeVersion, d.bootId, d.seq, d.reportedAt, d.receivedMs,
  ];
}

/** Write documents in one transaction (in order); says what each did. */
export async function ingestDocuments(db: SqlDb, docs: readonly DeviceDocument[]): Promise<IngestOutcome[]> {
  if (docs.length === 0) return [];
  return db.transaction(async (tx) => {
    const out: IngestOutcome[] = [];
    for (const d of docs) out.push(await ingestIn(tx, d));
    return out;
  });
}

async function ingestIn(tx: SqlDb, d: DeviceDocument): Promise<IngestOutcome> {
  const held = (await tx.query('SELECT boot_id, seq, removed_at_ms FROM devices WHERE device_id = ?', [d.deviceId]))[0];
  if (held === undefined) {
    await tx.run(`INSERT INTO devices (device_id, ${COLUMNS.join(', ')}, first_seen_ms) VALUES (?, ${COLUMNS.map(() => '?').join(', ')}, ?)`,
      [d.deviceId, ...values(d), d.receivedMs]);
    await noteBoot(tx, d);
    return 'added';
  }
  if (held['removed_at_ms'] !== null) return 'removed';
  const order = await compare(tx, d, toText(held['boot_id'], 'boot_id'), toNumber(held['seq'], 'seq'));
  if (order !== 'newer') return order;
  await tx.run(`UPDATE devices SET ${COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE device_id = ?`, [...values(d), d.deviceId]);
  await noteBoot(tx, d);
  return 'updated';
}

async function compare(tx: SqlDb, d: DeviceDocument, bootId: string, seq: number): Promise<'newer' | 'duplicate' | 'stale'> {
  if (d.bootId === bootId) return d.seq > seq ? 'newer' : d.seq === seq ? 'duplicate' : 'stale';
  const seen = await tx.query('SELECT 1 AS x FROM device_boots WHERE device_id = ? AND boot_id = ?', [d.deviceId, d.bootId]);
  return seen.length > 0 ? 'stale' : 'newer';
}

async function noteBoot(tx: SqlDb, d: DeviceDocument): Promise<void> {
  await tx.run('INSERT INTO device_boots (device_id, boot_id, first_seen_ms) VALUES (?, ?, ?) ON CONFLICT (device_id, boot_id) DO NOTHING',
    [d.deviceId, d.bootId, d.receivedMs]);
}

/** Every device row, sorted by id (filtering is the caller's). */
export async function deviceRows(db: SqlDb, where = '', params: readonly SqlValue[] = []): Promise<DeviceRecord[]> {
  const rows = await db.query(`SELECT * FROM devices ${where} ORDER BY device_id`, params);
  return rows.map(readDevice);
}

/** Set or clear a device's removal; false when it is unknown. */
export async function setRemoved(db: SqlDb, id: string, atMs: number | null): Promise<boolean> {
  return (await db.run('UPDATE devices SET removed_at_ms = ? WHERE device_id = ?', [atMs, id])) > 0;
}

function json(v: unknown, what: string): Readonly<Record<string, string>> {
  const parsed: unknown = JSON.parse(toText(v, what));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OtaError('REGISTRY_DAMAGED', `registry: ${what} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(parsed)) if (typeof x === 'string') out[k] = x;
  return out;
}

function readDevice(r: SqlRow): DeviceRecord {
  const id = toText(r['device_id'], 'device_id');
  const col = (k: string): string => `devices.${k} of ${id}`;
  return {
    deviceId: id, hardware: toTextOrNull(r['hardware'], col('hardware')), version: toNumberOrNull(r['version'], col('version')),
    name: toTextOrNull(r['name'], col('name')), phase: toText(r['phase'], col('phase')), booted: toText(r['booted'], col('booted')),
    slots: json(r['slots'], col('slots')), agentVersion: toTextOrNull(r['agent_version'], col('agent_version')),
    kernel: toTextOrNull(r['kernel'], col('kernel')), network: r['network'] === null ? null : json(r['network'], col('network')),
    attributes: json(r['attributes'], col('attributes')), lastError: toTextOrNull(r['last_error'], col('last_error')),
    lastOutcome: toTextOrNull(r['last_outcome'], col('last_outcome')), lastOutcomeVersion: toNumberOrNull(r['last_outcome_version'], col('last_outcome_version')),
    bootId: toText(r['boot_id'], col('boot_id')), seq: toNumber(r['seq'], col('seq')), reportedAt: toText(r['reported_at'], col('reported_at')),
    firstSeenMs: toNumber(r['first_seen_ms'], col('first_seen_ms')), lastSeenMs: toNumber(r['last_seen_ms'], col('last_seen_ms')),
    removedAtMs: toNumberOrNull(r['removed_at_ms'], col('removed_at_ms')),
  };
}
