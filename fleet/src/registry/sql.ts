/**
 * The SQL both stores speak, and the schema's versioned migrations. A store is a `SqlDb`: `?`
 * placeholders (the PostgreSQL driver numbers them), rows as plain objects, one transaction at a time.
 * Only SQL that SQLite (3.35+) and PostgreSQL (12+) read alike is written here: TEXT and BIGINT columns,
 * `INSERT ... ON CONFLICT ... DO UPDATE`, no autoincrement (event numbers are counted per rollout).
 */
import { OtaError } from '../../../agent/src/errors/index.js';

/** A value bound to a placeholder. */
export type SqlValue = string | number | null;
/** A row as the driver returns it. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** One connection to a store; calls are serialized by the driver. */
export interface SqlDb {
  readonly dialect: 'sqlite' | 'postgres';
  query(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Run a statement; returns the rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Run `fn` in one transaction (nothing else runs on the connection meanwhile); a throw rolls it back. */
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The schema, one entry per version: applied in order, each once, in a transaction. Never edit a shipped entry: add one. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE devices (
      device_id TEXT PRIMARY KEY, hardware TEXT, version BIGINT, name TEXT, phase TEXT NOT NULL, booted TEXT NOT NULL,
      slots TEXT NOT NULL, agent_version TEXT, kernel TEXT, network TEXT, attributes TEXT NOT NULL,
      last_error TEXT, last_outcome TEXT, last_outcome_version BIGINT,
      boot_id TEXT NOT NULL, seq BIGINT NOT NULL, reported_at TEXT NOT NULL,
      first_seen_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL, removed_at_ms BIGINT)`,
    'CREATE INDEX devices_version ON devices (version)',
    'CREATE INDEX devices_hardware ON devices (hardware)',
    // Every boot id a device reported: a document of a boot seen before, not the current one, is stale.
    'CREATE TABLE device_boots (device_id TEXT NOT NULL, boot_id TEXT NOT NULL, first_seen_ms BIGINT NOT NULL, PRIMARY KEY (device_id, boot_id))',
    'CREATE TABLE device_groups (name TEXT PRIMARY KEY, kind TEXT NOT NULL, definition TEXT NOT NULL, created_ms BIGINT NOT NULL)',
    `CREATE TABLE rollouts (
      rollout_id TEXT PRIMARY KEY, release_version BIGINT NOT NULL, hardware TEXT NOT NULL, group_name TEXT, canaries TEXT NOT NULL,
      stages TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, started_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL)`,
    `CREATE TABLE rollout_events (
      rollout_id TEXT NOT NULL, n BIGINT NOT NULL, at_ms BIGINT NOT NULL, kind TEXT NOT NULL, stage_index BIGINT NOT NULL, detail TEXT NOT NULL,
      PRIMARY KEY (rollout_id, n))`,
    `CREATE TABLE rollout_outcomes (
      rollout_id TEXT NOT NULL, device_id TEXT NOT NULL, stage_index BIGINT NOT NULL, outcome TEXT NOT NULL, reason TEXT, at_ms BIGINT NOT NULL,
      PRIMARY KEY (rollout_id, device_id))`,
  ],
];

/**
 * Bring the store to the newest schema. The whole check runs in one transaction, which each driver makes
 * exclusive (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so two fleet processes starting at
 * once migrate once. A store newer than this program is refused, never touched.
 */
export async function migrate(db: SqlDb, nowMs: number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)');
    const rows = await tx.query('SELECT MAX(version) AS v FROM schema_migrations');
    const at = rows[0]?.['v'] === null || rows[0]?.['v'] === undefined ? 0 : toNumber(rows[0]['v'], 'schema_migrations.version');
    if (at > MIGRATIONS.length) {
      throw new OtaError('REGISTRY_TOO_NEW', `the registry's schema is version ${at}, this ota-fleet knows up to ${MIGRATIONS.length}: run a newer ota-fleet`);
    }
    for (let v = at + 1; v <= MIGRATIONS.length; v++) {
      for (const statement of MIGRATIONS[v - 1] ?? []) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)', [v, nowMs]);
    }
    return MIGRATIONS.length;
  });
}

/** A BIGINT column as a number (PostgreSQL's driver returns it as text). */
export function toNumber(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new OtaError('REGISTRY_DAMAGED', `registry: ${what} is not an integer (${String(v)})`);
  return n;
}

/** A nullable BIGINT column. */
export function toNumberOrNull(v: unknown, what: string): number | null {
  return v === null || v === undefined ? null : toNumber(v, what);
}

/** A TEXT column. */
export function toText(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new OtaError('REGISTRY_DAMAGED', `registry: ${what} is not text`);
  return v;
}

/** A nullable TEXT column. */
export function toTextOrNull(v: unknown, what: string): string | null {
  return v === null || v === undefined ? null : toText(v, what);
}
