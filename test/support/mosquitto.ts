/**
 * A real mosquitto broker for tests: on 127.0.0.1, a free port, a temp config
 * (anonymous allowed unless told otherwise, persistence off), killed at the end.
 * Restartable on the same port to test reconnects. Files the broker reads after
 * start (certificates, password file) must be readable by the `mosquitto` user
 * when the tests run as root (see `readableByBroker`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { hasTool, tempDir } from './tools.js';

/** Where Debian installs mosquitto. */
export const MOSQUITTO = hasTool('mosquitto') ? 'mosquitto' : '/usr/sbin/mosquitto';

/** True when mosquitto is installed (tests skip otherwise). */
export function haveMosquitto(): boolean {
  return hasTool('mosquitto') || hasTool('/usr/sbin/mosquitto');
}

/** A running broker. */
export interface Broker {
  readonly port: number;
  /** `mqtt://127.0.0.1:PORT`. */
  readonly url: string;
  /** SIGKILL the broker (a crash: no clean shutdown). */
  kill(): Promise<void>;
  /** Start it again on the same port. */
  restart(): Promise<void>;
  /** Kill it and remove its temp dir. */
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return (address satisfies AddressInfo).port;
}

async function accepting(port: number, attempts: number): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port}`);
}

/** Start mosquitto; `extraConfig` lines are appended (e.g. `allow_anonymous false`). */
export async function startMosquitto(options: { allowAnonymous?: boolean; extraConfig?: readonly string[] } = {}): Promise<Broker> {
  const t = tempDir('ota-mosquitto-');
  // Started as root, mosquitto drops to its own user: let it read what it needs.
  chmodSync(t.dir, 0o755);
  const port = await freePort();
  const conf = join(t.dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, `allow_anonymous ${options.allowAnonymous === false ? 'false' : 'true'}`,
    'persistence false', 'log_dest none', ...(options.extraConfig ?? [])].join('\n') + '\n');
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const c = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    child = c;
    const exited = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`mosquitto exited with ${String(code)}`))));
    exited.catch(() => undefined);
    await Promise.race([accepting(port, 100), exited]);
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
  };
  await launch();
  return {
    port, url: `mqtt://127.0.0.1:${port}`, kill, restart: launch,
    stop: async () => { await kill(); t.cleanup(); },
  };
}

/** Make files (and their directory) readable by the broker, which drops root privileges to user `mosquitto`. */
export function readableByBroker(dir: string, ...files: string[]): void {
  chmodSync(dir, 0o755);
  for (const f of files) chmodSync(f, 0o644);
}
