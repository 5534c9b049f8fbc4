/**
 * A real PostgreSQL server for the registry tests: Debian's `postgresql` binaries (initdb, postgres),
 * a cluster in a temp dir, listening on 127.0.0.1 at a free port (its socket in the temp dir too),
 * trust authentication, no fsync (a test cluster), stopped and removed at the end. As root it runs as
 * the `postgres` user (initdb refuses root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './mosquitto.js';
import { isRoot, tempDir } from './tools.js';

/** The bin directory of the newest installed PostgreSQL, or undefined. */
export function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => /^[0-9]+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(base, v, 'bin')).find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres')));
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (postgresBin() === undefined) return 'missing PostgreSQL server binaries (/usr/lib/postgresql/N/bin/initdb, postgres: Debian package postgresql)';
  if (isRoot && spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) return 'running as root without a postgres user to run the server as';
  return undefined;
}

/** A running server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  /** A fresh empty database on the server; its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

function asServerUser(bin: string, args: readonly string[]): { command: string; args: string[] } {
  return isRoot ? { command: 'runuser', args: ['-u', 'postgres', '--', bin, ...args] } : { command: bin, args: [...args] };
}

async function ready(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${log()}`);
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    const ok = await c.connect().then(() => true, () => false);
    await c.end().catch(() => undefined);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`postgres did not accept connections: ${log()}`);
}

/** initdb a cluster in a temp dir and start postgres on it. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  if (bin === undefined) throw new Error('no PostgreSQL binaries');
  const t = tempDir('ota-pg-');
  const data = join(t.dir, 'data');
  if (isRoot) {
    const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(t.dir, id('-u'), id('-g'));
    chmodSync(t.dir, 0o700);
  }
  const init = asServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const r = spawnSync(init.command, init.args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`initdb: ${r.stderr}`);
  const port = await freePort();
  const run = asServerUser(join(bin, 'postgres'), ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', t.dir, '-c', 'fsync=off', '-c', 'full_page_writes=off']);
  const child = spawn(run.command, run.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => { log = (log + b.toString('utf8')).slice(-4000); });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await ready(url, child, () => log);
  return {
    url,
    createDatabase: async (name) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`CREATE DATABASE "${name}"`);
      await c.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // The postmaster itself (runuser does not pass signals on): SIGINT is PostgreSQL's fast shutdown.
        const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(Number.isSafeInteger(pid) && pid > 0 ? pid : child.pid ?? 0, 'SIGINT');
        await exited;
      }
      t.cleanup();
    },
  };
}
