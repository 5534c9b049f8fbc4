/**
 * Opening the registry from what the operator gives: nothing (the SQLite file in the fleet's state
 * directory), a file path, or `postgres://...` / `postgresql://...`.
 */
import { join } from 'node:path';
import { openPostgres, openSqlite, redact } from './drivers.js';
import { registryOn } from './store.js';
import type { Registry } from './types.js';

/** The registry's file name in the fleet's state directory (beside the rollout state file). */
export const REGISTRY_FILE = 'ota-registry.sqlite';

/** True when `database` names a PostgreSQL server. */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//.test(database);
}

/**
 * Open the registry: `database` a PostgreSQL URL, a SQLite file, or undefined for REGISTRY_FILE in
 * `stateDir`. Migrates it to the newest schema.
 */
export async function openRegistry(database: string | undefined, stateDir: string, nowMs: number): Promise<Registry> {
  if (database !== undefined && isPostgresUrl(database)) return registryOn(await openPostgres(database), `postgres ${redact(database)}`, nowMs);
  const file = database ?? join(stateDir, REGISTRY_FILE);
  return registryOn(openSqlite(file), `sqlite ${file}`, nowMs);
}
