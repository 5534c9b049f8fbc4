/**
 * The real U-Boot env tools from Debian (libubootenv-tool: fw_printenv, fw_setenv; u-boot-tools:
 * mkenvimage), driven for differential tests, plus random variable sets that both sides store.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { intBetween, pick } from './prng.js';
import { bytesOfText, textOfBytes } from '../../agent/src/bootenv/index.js';

/** The commands the differential tests need. */
export const ENV_TOOLS = ['fw_printenv', 'fw_setenv', 'mkenvimage'] as const;

/** The result of one tool run. */
export interface ToolRun { status: number; stdout: string; stderr: string }

/** Run `command` with `args` (no shell); never throws for a non-zero exit. */
export function runTool(command: string, args: readonly string[], cwd?: string): ToolRun {
  const r = spawnSync(command, [...args], { encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }), timeout: 30_000 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `fw_printenv -c config [args]`; throws with the tool's stderr when it fails. */
export function fwPrintenv(config: string, ...args: string[]): string {
  const r = runTool('fw_printenv', ['-c', config, ...args]);
  if (r.status !== 0) throw new Error(`fw_printenv -c ${config} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `fw_setenv -c config args...` (`name value` sets, `name` alone deletes, `-s FILE` runs a script). */
export function fwSetenv(config: string, ...args: string[]): void {
  const r = runTool('fw_setenv', ['-c', config, ...args]);
  if (r.status !== 0) throw new Error(`fw_setenv -c ${config} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

/** `mkenvimage -s size [-r] [-p pad] -o out input`: an env image from `name=value` lines. */
export function mkenvimage(dir: string, lines: readonly string[], sizeBytes: number, options: { redundant?: boolean; pad?: number } = {}): string {
  const input = join(dir, `mkenv-${Math.random().toString(36).slice(2)}.txt`);
  const out = `${input}.img`;
  writeFileSync(input, lines.map((l) => `${l}\n`).join(''));
  const args = ['-s', `0x${sizeBytes.toString(16)}`, ...(options.redundant === true ? ['-r'] : []),
    ...(options.pad === undefined ? [] : ['-p', `0x${options.pad.toString(16)}`]), '-o', out, input];
  const r = runTool('mkenvimage', args);
  if (r.status !== 0) throw new Error(`mkenvimage ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return out;
}

/** Write a fw_env.config for one copy per entry of `copies` ([device, offset]) of `sizeBytes`. */
export function writeEnvConfig(file: string, copies: readonly (readonly [string, number])[], sizeBytes: number): string {
  writeFileSync(file, copies.map(([dev, off]) => `${dev} 0x${off.toString(16)} 0x${sizeBytes.toString(16)}\n`).join(''));
  return file;
}

const NAME_START = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const NAME_REST = `${NAME_START}0123456789-.:`;
const VALUE_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 =,;:/.-_"\'$(){}[]#!?*&%@~^|\\<>+', 'é', '€', 'ß', '😀'];

/** A random variable name: a letter or _ first (not `#`, a comment for mkenvimage; not `.`, `.flags`). */
export function randomName(rng: () => number): string {
  let name = pick(rng, [...NAME_START]);
  const length = intBetween(rng, 0, 24);
  for (let i = 0; i < length; i++) name += pick(rng, [...NAME_REST]);
  return name;
}

/** A random non-empty single-line value, sometimes long, with '=', spaces and UTF-8. */
export function randomValue(rng: () => number, maxChars: number): string {
  const length = intBetween(rng, 1, Math.max(1, maxChars));
  let value = '';
  for (let i = 0; i < length; i++) value += pick(rng, VALUE_CHARS);
  return value;
}

/** Random variables taking about `fill` (0..1) of `dataBytes`, with distinct names. */
export function randomVars(rng: () => number, dataBytes: number, fill: number): Map<string, string> {
  const vars = new Map<string, string>();
  const budget = Math.floor(dataBytes * fill);
  let used = 1;
  const maxValue = pick(rng, [8, 64, 512, 4096]);
  for (;;) {
    const name = randomName(rng);
    const value = randomValue(rng, maxValue);
    const cost = Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
    if (used + cost > budget) return vars;
    if (vars.has(name)) continue;
    vars.set(name, value);
    used += cost;
  }
}

/** What fw_printenv prints for `vars`: `name=value` lines sorted by name in byte order. */
export function printed(vars: ReadonlyMap<string, string>): string {
  return [...vars].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(([n, v]) => `${n}=${v}\n`).join('');
}

/** `vars` of text as the env's byte strings (UTF-8), what UBootEnv and the codec take. */
export function asBytes(vars: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...vars].map(([n, v]) => [bytesOfText(n), bytesOfText(v)]));
}

/** `vars` read from the env (byte strings) as text, to compare with fw_printenv's UTF-8 output. */
export function asText(vars: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...vars].map(([n, v]) => [textOfBytes(n), textOfBytes(v)]));
}
