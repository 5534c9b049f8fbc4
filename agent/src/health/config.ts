/**
 * Health check declarations, as they appear in the agent config under `health`.
 * Each check is `required` (its failure reverts the update) or `wanted` (its
 * failure is only reported), greenboot's required.d / wanted.d. Parsed and
 * validated once; nothing is cast.
 */
import { OtaError } from '../errors/index.js';

/** Whether a failed check reverts (`required`) or is only reported (`wanted`). */
export type Level = 'required' | 'wanted';

/** The common part of every check. */
interface Base {
  /** Shown in the result and the status document. */
  readonly name: string;
  readonly level: Level;
}

/** One declared check. */
export type HealthCheck =
  | Base & { readonly kind: 'systemd'; readonly unit: string }
  | Base & { readonly kind: 'command'; readonly argv: readonly string[] }
  | Base & { readonly kind: 'http'; readonly url: string; readonly expectStatus?: number }
  | Base & { readonly kind: 'file'; readonly path: string };

/** The health section of the agent config. */
export interface HealthConfig {
  /** Deadline for the whole check; a check still running then has failed. */
  readonly deadlineMs: number;
  readonly checks: readonly HealthCheck[];
}

/** The default deadline when the config gives none. */
export const DEFAULT_DEADLINE_MS = 60_000;

function fail(where: string, what: string): never {
  throw new OtaError('CONFIG_INVALID', `agent config: ${where}: ${what}: fix the config file`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(where, 'want a non-empty string');
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An unknown field is an error: a typo never silently falls back to a default. */
function onlyKeys(o: Record<string, unknown>, where: string, allowed: readonly string[]): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) fail(`${where}.${extra}`, `unknown field (known: ${allowed.join(', ')})`);
}

const KIND_KEYS: Readonly<Record<string, readonly string[]>> = {
  systemd: ['unit'], command: ['argv'], http: ['url', 'expectStatus'], file: ['path'],
};

/** Validate the `health` section (`undefined` gives the defaults: no declared checks). */
export function parseHealthConfig(value: unknown, where = 'health'): HealthConfig {
  if (value === undefined) return { deadlineMs: DEFAULT_DEADLINE_MS, checks: [] };
  if (!isRecord(value)) fail(where, 'want an object');
  onlyKeys(value, where, ['deadlineMs', 'checks']);
  const deadline = value['deadlineMs'] ?? DEFAULT_DEADLINE_MS;
  if (typeof deadline !== 'number' || !Number.isSafeInteger(deadline) || deadline <= 0) fail(`${where}.deadlineMs`, 'want a positive integer');
  const checks = value['checks'] ?? [];
  if (!Array.isArray(checks)) fail(`${where}.checks`, 'want an array');
  const parsed = checks.map((c: unknown, i) => parseCheck(c, `${where}.checks[${i}]`));
  const names = new Set(parsed.map((c) => c.name));
  if (names.size !== parsed.length) fail(`${where}.checks`, 'check names must be unique');
  if (names.has(FLEET_CHECK)) fail(`${where}.checks`, `the name "${FLEET_CHECK}" is the built-in fleet round-trip`);
  return { deadlineMs: deadline, checks: parsed };
}

/** The name of the always-present required check that the device reaches the fleet. */
export const FLEET_CHECK = 'fleet';

function parseCheck(v: unknown, where: string): HealthCheck {
  if (!isRecord(v)) fail(where, 'want an object');
  const level = v['level'] ?? 'required';
  if (level !== 'required' && level !== 'wanted') fail(`${where}.level`, 'want "required" or "wanted"');
  const kind = v['kind'];
  const specific = typeof kind === 'string' ? KIND_KEYS[kind] : undefined;
  if (specific !== undefined) onlyKeys(v, where, ['kind', 'name', 'level', ...specific]);
  const base = (fallback: string): Base => ({ name: v['name'] === undefined ? fallback : str(v['name'], `${where}.name`), level });
  switch (kind) {
    case 'systemd': {
      const unit = str(v['unit'], `${where}.unit`);
      return { ...base(`systemd:${unit}`), kind, unit };
    }
    case 'command': {
      const argv = v['argv'];
      if (!Array.isArray(argv) || argv.length === 0) fail(`${where}.argv`, 'want a non-empty array of strings');
      const parsed = argv.map((a: unknown, i) => str(a, `${where}.argv[${i}]`));
      return { ...base(`command:${parsed.join(' ')}`), kind, argv: parsed };
    }
    case 'http': {
      const url = str(v['url'], `${where}.url`);
      if (!/^https?:\/\//.test(url)) fail(`${where}.url`, 'want an http:// or https:// URL');
      const expect = v['expectStatus'];
      if (expect !== undefined && (typeof expect !== 'number' || !Number.isInteger(expect))) fail(`${where}.expectStatus`, 'want an HTTP status code');
      return { ...base(`http:${url}`), kind, url, ...(expect === undefined ? {} : { expectStatus: expect }) };
    }
    case 'file': {
      const path = str(v['path'], `${where}.path`);
      return { ...base(`file:${path}`), kind, path };
    }
    default:
      return fail(`${where}.kind`, 'want "systemd", "command", "http" or "file"');
  }
}
