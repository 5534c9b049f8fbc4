/**
 * The registry on a `SqlDb`: the one implementation of `Registry`, over either driver (drivers.ts).
 */
import { OtaError } from '../../../agent/src/errors/index.js';
import { deviceRows, ingestDocuments, setRemoved } from './devices.js';
import { matchesAll, passes } from './filter.js';
import { addEvent, history, putOutcome, putRollout, rollouts } from './history.js';
import { migrate, toNumber, toText, type SqlDb, type SqlRow } from './sql.js';
import type { DeviceFilter, DeviceRecord, GroupDefinition, GroupRecord, Registry } from './types.js';

/** A group name: what a CLI argument and a URL path can carry. */
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Open the registry on `db`, migrated to the newest schema. */
export async function registryOn(db: SqlDb, describe: string, nowMs: number): Promise<Registry> {
  try {
    await migrate(db, nowMs);
  } catch (err) {
    await db.close();
    throw err;
  }
  return new SqlRegistry(db, describe);
}

class SqlRegistry implements Registry {
  constructor(private readonly db: SqlDb, readonly describe: string) {}

  async ingest(doc: Parameters<Registry['ingest']>[0]): ReturnType<Registry['ingest']> {
    const [outcome] = await ingestDocuments(this.db, [doc]);
    if (outcome === undefined) throw new OtaError('REGISTRY_DAMAGED', `registry: ingest of ${doc.deviceId} said nothing`);
    return outcome;
  }

  ingestMany = (docs: Parameters<Registry['ingestMany']>[0]): ReturnType<Registry['ingestMany']> => ingestDocuments(this.db, docs);

  async device(id: string): Promise<DeviceRecord | undefined> {
    return (await deviceRows(this.db, 'WHERE device_id = ?', [id]))[0];
  }

  async devices(filter: DeviceFilter = {}): Promise<DeviceRecord[]> {
    const all = await deviceRows(this.db);
    const members = filter.group === undefined ? undefined : new Set(await this.members(filter.group, all));
    return all.filter((d) => passes(d, filter) && (members === undefined || members.has(d.deviceId)));
  }

  removeDevice = (id: string, atMs: number): Promise<boolean> => setRemoved(this.db, id, atMs);
  restoreDevice = (id: string): Promise<boolean> => setRemoved(this.db, id, null);

  async removedDevices(): Promise<string[]> {
    return (await this.db.query('SELECT device_id FROM devices WHERE removed_at_ms IS NOT NULL ORDER BY device_id')).map((r) => toText(r['device_id'], 'device_id'));
  }

  async putGroup(name: string, definition: GroupDefinition, atMs: number): Promise<void> {
    if (!GROUP_NAME.test(name)) throw new OtaError('USAGE', `group name ${JSON.stringify(name)}: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`);
    const body = JSON.stringify(definition.kind === 'static' ? { devices: [...new Set(definition.devices)].sort() } : { match: definition.match });
    await this.db.run(`INSERT INTO device_groups (name, kind, definition, created_ms) VALUES (?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, definition = excluded.definition`, [name, definition.kind, body, atMs]);
  }

  async group(name: string): Promise<GroupRecord | undefined> {
    const row = (await this.db.query('SELECT * FROM device_groups WHERE name = ?', [name]))[0];
    return row === undefined ? undefined : readGroup(row);
  }

  async groups(): Promise<GroupRecord[]> {
    return (await this.db.query('SELECT * FROM device_groups ORDER BY name')).map(readGroup);
  }

  async removeGroup(name: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM device_groups WHERE name = ?', [name])) > 0;
  }

  async groupMembers(name: string): Promise<string[]> {
    return this.members(name, await deviceRows(this.db));
  }

  private async members(name: string, all: readonly DeviceRecord[]): Promise<string[]> {
    const g = await this.group(name);
    if (g === undefined) {
      const known = (await this.groups()).map((x) => x.name);
      throw new OtaError('GROUP_UNKNOWN', `group ${name}: no such group (${known.length === 0 ? 'none defined' : `defined: ${known.join(', ')}`}): add it with ota-fleet group add`);
    }
    const def = g.definition;
    const listed = def.kind === 'static' ? new Set(def.devices) : undefined;
    return all.filter((d) => d.removedAtMs === null && (listed !== undefined ? listed.has(d.deviceId) : def.kind === 'dynamic' && matchesAll(d, def.match)))
      .map((d) => d.deviceId);
  }

  putRollout = (r: Parameters<Registry['putRollout']>[0]): Promise<void> => putRollout(this.db, r);
  addRolloutEvent = (e: Parameters<Registry['addRolloutEvent']>[0]): Promise<void> => addEvent(this.db, e);
  putRolloutOutcome = (o: Parameters<Registry['putRolloutOutcome']>[0]): Promise<void> => putOutcome(this.db, o);
  rollouts = (): ReturnType<Registry['rollouts']> => rollouts(this.db);
  rolloutHistory = (id: string): ReturnType<Registry['rolloutHistory']> => history(this.db, id);

  async schemaVersion(): Promise<number> {
    return toNumber((await this.db.query('SELECT MAX(version) AS v FROM schema_migrations'))[0]?.['v'], 'schema version');
  }

  close = (): Promise<void> => this.db.close();
}

function readGroup(r: SqlRow): GroupRecord {
  const name = toText(r['name'], 'group name');
  const kind = r['kind'];
  const body: unknown = JSON.parse(toText(r['definition'], `group ${name}`));
  const o: Readonly<Record<string, unknown>> = isObj(body) ? body : {};
  const createdMs = toNumber(r['created_ms'], `group ${name} created_ms`);
  if (kind === 'static') {
    const devices = Array.isArray(o['devices']) ? o['devices'].filter((x): x is string => typeof x === 'string') : [];
    return { name, createdMs, definition: { kind: 'static', devices } };
  }
  const raw = Array.isArray(o['match']) ? o['match'] : [];
  const match = raw.flatMap((m: unknown) => {
    if (!isObj(m)) return [];
    const key = m['key'];
    const value = m['value'];
    return typeof key === 'string' && typeof value === 'string' ? [{ key, value }] : [];
  });
  return { name, createdMs, definition: { kind: 'dynamic', match } };
}

function isObj(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
