/**
 * What the registry commands share: where the registry is (`--database`, else the SQLite file in
 * `--state-dir`), opened for the length of one command, and the table printer.
 */
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliContext } from '../../../agent/src/cli/index.js';
import { REGISTRY_FILE, isPostgresUrl, openRegistry, type Registry } from '../registry/index.js';

/** `--state-dir` and `--database`. */
export function registryOptions<T>(b: Argv<T>) {
  return b.option('state-dir', { type: 'string', default: '.', describe: `the fleet's state directory (the registry ${REGISTRY_FILE}, the roster, the rollout state)` })
    .option('database', { type: 'string', describe: `the registry: a postgres://user@host/db URL or a SQLite file (default: ${REGISTRY_FILE} in --state-dir)` });
}

/** Run `fn` on the registry the arguments name, closing it after. */
export async function withRegistry<T>(ctx: CliContext, a: { 'state-dir': string; database: string | undefined }, fn: (r: Registry) => Promise<T>): Promise<T> {
  const db = a.database === undefined || isPostgresUrl(a.database) ? a.database : resolve(ctx.cwd, a.database);
  const registry = await openRegistry(db, resolve(ctx.cwd, a['state-dir']), ctx.now().getTime());
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

/** Aligned columns (the last one unpadded), a header first. */
export function columns(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, k) => (k === c.length - 1 ? x : x.padEnd(widths[k] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A time of the fleet's clock for people. */
export function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}
