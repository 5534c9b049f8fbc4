/**
 * Helpers for tests of the simulated device: images, keys and releases made with
 * the real `ota-fleet` commands in-process, and `ota-agent` commands on a device
 * directory with their output captured.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { main as agentMain } from '../../agent/src/cli/index.js';
import { main as fleetMain } from '../../fleet/src/cli/index.js';
import { runMain } from './tools.js';
import type { CliRun } from './tools.js';

/** Run `ota-agent ARGV` in-process in `cwd`. */
export function agent(cwd: string, ...argv: string[]): Promise<CliRun> {
  return runMain(agentMain, argv, { cwd });
}

/** Run `ota-agent ARGV` in-process and require exit 0 (the output is in the assertion message otherwise). */
export async function agentOk(cwd: string, ...argv: string[]): Promise<CliRun> {
  const r = await agent(cwd, ...argv);
  assert.is(r.code, 0, `ota-agent ${argv.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Run `ota-fleet ARGV` in-process and require exit 0. */
export async function fleetOk(cwd: string, ...argv: string[]): Promise<CliRun> {
  const r = await runMain(fleetMain, argv, { cwd });
  assert.is(r.code, 0, `ota-fleet ${argv.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Write a random image of `sizeBytes` to `dir/name`. */
export function writeImage(dir: string, name: string, sizeBytes: number): string {
  writeFileSync(join(dir, name), randomBytes(sizeBytes));
  return name;
}

/** Copy `from` to `to` with `patch` written at `offsetBytes` (a new release of the same image). */
export function patchImage(dir: string, from: string, to: string, offsetBytes: number, patch: string): string {
  const bytes = readFileSync(join(dir, from));
  bytes.write(patch, offsetBytes);
  writeFileSync(join(dir, to), bytes);
  return to;
}

/** The status of a device as `status --json` prints it (checked field by field by the caller). */
export async function statusJson(cwd: string, config: string): Promise<Record<string, unknown>> {
  const r = await agentOk(cwd, '--config', config, 'status', '--json');
  const parsed: unknown = JSON.parse(r.stdout);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`status --json printed ${r.stdout}`);
  return Object.fromEntries(Object.entries(parsed));
}

/** `fw_printenv -c CONFIG` as a map. */
export function fwPrintenv(config: string): Map<string, string> {
  const out = execFileSync('fw_printenv', ['-c', config], { encoding: 'utf8' });
  return new Map(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * In `dir`: keys, a 1 MiB image v1 on a simulated device `dev` (slot A), release 2 of it in `rel2`,
 * installed into slot B with its trial armed (`install` stops before the reboot).
 */
export async function armedTwo(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 1024 * 1024);
  patchImage(dir, 'v1.img', 'v2.img', 9000, 'two');
  await fleetOk(dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2');
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
  await agentOk(dir, '--config', 'dev/agent.json', 'install', 'rel2');
}
