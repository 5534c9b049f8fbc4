/**
 * The probes behind each kind of check, and the real command runner. Each probe
 * resolves with a short detail when the check passes and throws when it fails;
 * each honours the AbortSignal that fires at the health deadline.
 */
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { describe, OtaError } from '../errors/index.js';

/** How a command ended. */
export interface CommandResult {
  /** Exit code, or null when killed by a signal. */
  readonly exitCode: number | null;
  /** The last bytes of stderr, for the report. */
  readonly stderrTail: string;
}

/** Runs a command (argv[0] looked up on PATH); killed when `signal` fires. */
export type CommandRunner = (argv: readonly string[], signal: AbortSignal) => Promise<CommandResult>;

/** Proves the device reaches the fleet (the transport's MQTT round-trip). */
export interface FleetProbe {
  roundTrip(signal: AbortSignal): Promise<void>;
  /** What a pass reports (default `MQTT round-trip`): an offline device's probe passes without one, and says so. */
  readonly passDetail?: string;
}

const STDERR_TAIL_BYTES = 512;

/**
 * The real command runner: spawn, no shell, stdout discarded, stderr tail kept, SIGKILL on abort.
 * node:child_process (and the dgram module it pulls in) is loaded at the first command: an idle agent runs none.
 */
export const spawnCommand: CommandRunner = async (argv, signal) => {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv;
    if (command === undefined) { reject(new OtaError('HEALTH_COMMAND', 'empty command')); return; }
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], signal, killSignal: 'SIGKILL' });
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { tail = (tail + chunk).slice(-STDERR_TAIL_BYTES); });
    child.on('error', (err) => reject(new OtaError('HEALTH_COMMAND', `run ${command}: ${describe(err)}`, { cause: err })));
    child.on('close', (code) => resolve({ exitCode: code, stderrTail: tail.trim() }));
  });
};

/** Pass when the command exits 0. */
export async function probeCommand(run: CommandRunner, argv: readonly string[], signal: AbortSignal): Promise<string> {
  const r = await run(argv, signal);
  if (r.exitCode === 0) return 'exit 0';
  const why = r.exitCode === null ? 'killed' : `exit ${r.exitCode}`;
  throw new OtaError('HEALTH_FAILED', `${argv.join(' ')}: ${why}${r.stderrTail === '' ? '' : `: ${r.stderrTail}`}`);
}

/** Pass when `systemctl is-active --quiet UNIT` exits 0 (the unit is active). */
export async function probeUnit(run: CommandRunner, systemctl: string, unit: string, signal: AbortSignal): Promise<string> {
  const r = await run([systemctl, 'is-active', '--quiet', unit], signal);
  if (r.exitCode === 0) return 'active';
  throw new OtaError('HEALTH_FAILED', `unit ${unit} is not active (systemctl is-active: exit ${String(r.exitCode)})`);
}

/** Pass when the URL answers with `expectStatus`, or any 2xx/3xx when none is given. */
export function probeHttp(url: string, expectStatus: number | undefined, signal: AbortSignal): Promise<string> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(url, { signal }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const ok = expectStatus === undefined ? status >= 200 && status < 400 : status === expectStatus;
      if (ok) resolve(`HTTP ${status}`);
      else reject(new OtaError('HEALTH_FAILED', `${url} answered HTTP ${status}, want ${expectStatus ?? '2xx or 3xx'}`));
    });
    req.on('error', (err) => reject(new OtaError('HEALTH_FAILED', `${url}: ${describe(err)}`, { cause: err })));
  });
}

/** Pass when the path exists. */
export async function probeFile(path: string): Promise<string> {
  try {
    await fsp.access(path);
    return 'exists';
  } catch (err) {
    throw new OtaError('HEALTH_FAILED', `${path} is missing: ${describe(err)}`, { cause: err });
  }
}
