/**
 * The two drivers behind `SqlDb`: better-sqlite3 on a file (the embedded default) and node-postgres on a
 * URL. Each serializes its calls on one connection, so a transaction is never interleaved with another
 * caller's statement; the registry's load (one status document per device event) fits one connection.
 */
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { OtaError, describe } from '../../../agent/src/errors/index.js';
import type { SqlDb, SqlRow } from './sql.js';

/** Runs jobs one after another. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * One queue per SQLite file in this process, shared by its connections. better-sqlite3 waits for a lock
 * by blocking the thread (busy_timeout): a second connection of the same process starting a transaction
 * while the first one's is open between two awaits would block the very thread that must finish the
 * first, and fail SQLITE_BUSY after the timeout. Across processes the busy timeout does its job.
 */
const fileQueues = new Map<string, { serial: Serial; users: number }>();

function queueFor(file: string): { serial: Serial; release(): void } {
  const key = resolve(file);
  const entry = fileQueues.get(key) ?? { serial: new Serial(), users: 0 };
  entry.users++;
  fileQueues.set(key, entry);
  return {
    serial: entry.serial,
    release: () => { if (--entry.users === 0) fileQueues.delete(key); },
  };
}

function isRow(v: unknown): v is SqlRow {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Open (creating) a SQLite store at `file`: WAL, a busy timeout for a second process on the same file. */
export function openSqlite(file: string): SqlDb {
  let db: Database.Database;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a crash of the process; a power cut may lose the last transactions, which
    // the next status documents (devices) and the controller's state file (rollouts) bring back.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new OtaError('REGISTRY_UNAVAILABLE', `registry ${file}: ${describe(err)}: check the state directory exists and is writable`, { cause: err });
  }
  const { serial, release } = queueFor(file);
  const direct: SqlDb = {
    dialect: 'sqlite',
    query: async (sql, params = []) => db.prepare(sql).all(...params).filter(isRow),
    run: async (sql, params = []) => db.prepare(sql).run(...params).changes,
    transaction: () => { throw new OtaError('REGISTRY_NESTED', 'registry: nested transaction'); },
    close: async () => { db.close(); release(); },
  };
  return {
    dialect: 'sqlite',
    query: (sql, params) => serial.run(() => direct.query(sql, params)),
    run: (sql, params) => serial.run(() => direct.run(sql, params)),
    transaction: (fn) => serial.run(async () => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(direct);
        db.exec('COMMIT');
        return out;
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    }),
    close: () => serial.run(() => direct.close()),
  };
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...` (the registry's SQL has no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Connect to PostgreSQL at `url` (postgres://user:pass@host:port/db). */
export async function openPostgres(url: string): Promise<SqlDb> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a dropped connection fails the next query, which says so
  try {
    await client.connect();
  } catch (err) {
    throw new OtaError('REGISTRY_UNAVAILABLE', `registry ${redact(url)}: ${describe(err)}: check --database and that PostgreSQL runs`, { cause: err, transient: true });
  }
  const serial = new Serial();
  const direct: SqlDb = {
    dialect: 'postgres',
    query: async (sql, params = []) => (await client.query(numberPlaceholders(sql), [...params])).rows.filter(isRow),
    run: async (sql, params = []) => (await client.query(numberPlaceholders(sql), [...params])).rowCount ?? 0,
    transaction: () => { throw new OtaError('REGISTRY_NESTED', 'registry: nested transaction'); },
    close: async () => { await client.end(); },
  };
  return {
    dialect: 'postgres',
    query: (sql, params) => serial.run(() => direct.query(sql, params)),
    run: (sql, params) => serial.run(() => direct.run(sql, params)),
    transaction: (fn) => serial.run(async () => {
      await client.query('BEGIN');
      try {
        // One migrator, one writer of a device at a time across fleet processes: a transaction-scoped lock.
        await client.query('SELECT pg_advisory_xact_lock(8675309)');
        const out = await fn(direct);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }),
    close: () => serial.run(() => direct.close()),
  };
}

/** A database URL without its password (for messages and `describe`). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
