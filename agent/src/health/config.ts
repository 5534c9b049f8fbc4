/**
 * Health check declarations, as they appear in the agent config under `health`.
 * Each check is `required` (its failure reverts the update) or `wanted` (its
 * failure is only reported), greenboot's required.d / wanted.d. Parsed and
 * validated once; nothing is cast.
 */
import { Fields } from '../validate/index.js';

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

const KIND_KEYS: Readonly<Record<string, readonly string[]>> = {
  systemd: ['unit'], command: ['argv'], http: ['url', 'expectStatus'], file: ['path'],
};

/**
 * Validate the `health` section (`undefined` gives the defaults: no declared checks) into `f`, the agent
 * config's problems. Without `f`, the section stands alone and its problems are thrown together.
 */
export function parseHealthConfig(value: unknown, f?: Fields, where = 'health'): HealthConfig {
  if (value === undefined) return { deadlineMs: DEFAULT_DEADLINE_MS, checks: [] };
  const fields = f ?? new Fields('health section', { code: 'CONFIG_INVALID', what: 'agent config' });
  const o = fields.object(value, where, ['deadlineMs', 'checks']);
  const deadlineMs = fields.optionalInteger(o['deadlineMs'], `${where}.deadlineMs`, 1, Number.MAX_SAFE_INTEGER, DEFAULT_DEADLINE_MS);
  const list = o['checks'] ?? [];
  if (!Array.isArray(list)) fields.problem(`${where}.checks`, 'want an array');
  const checks = (Array.isArray(list) ? list : []).flatMap((c: unknown, i) => parseCheck(fields, c, `${where}.checks[${i}]`) ?? []);
  const names = new Set(checks.map((c) => c.name));
  if (names.size !== checks.length) fields.problem(`${where}.checks`, 'check names must be unique');
  if (names.has(FLEET_CHECK)) fields.problem(`${where}.checks`, `the name "${FLEET_CHECK}" is the built-in fleet round-trip`);
  if (f === undefined) fields.finish();
  return { deadlineMs, checks };
}

/** The name of the always-present required check that the device reaches the fleet. */
export const FLEET_CHECK = 'fleet';

/** One declared check, or undefined when it is unusable (its problems are in `f`). */
function parseCheck(f: Fields, value: unknown, where: string): HealthCheck | undefined {
  const kind = isRecord(value) ? value['kind'] : undefined;
  const specific = typeof kind === 'string' ? KIND_KEYS[kind] : undefined;
  const v = f.object(value, where, ['kind', 'name', 'level', ...(specific ?? Object.values(KIND_KEYS).flat())]);
  const level = v['level'] ?? 'required';
  if (level !== 'required' && level !== 'wanted') f.problem(`${where}.level`, 'want "required" or "wanted"');
  const base = (fallback: string): Base => ({
    name: v['name'] === undefined ? fallback : f.string(v['name'], `${where}.name`),
    level: level === 'wanted' ? 'wanted' : 'required',
  });
  switch (kind) {
    case 'systemd': {
      const unit = f.string(v['unit'], `${where}.unit`);
      return { ...base(`systemd:${unit}`), kind, unit };
    }
    case 'command': {
      const argv = v['argv'];
      if (!Array.isArray(argv) || argv.length === 0) f.problem(`${where}.argv`, 'want a non-empty array of strings');
      const parsed = f.stringArray(Array.isArray(argv) ? argv : [], `${where}.argv`);
      return { ...base(`command:${parsed.join(' ')}`), kind, argv: parsed };
    }
    case 'http': {
      const url = f.string(v['url'], `${where}.url`);
      if (url !== '' && !/^https?:\/\//.test(url)) f.problem(`${where}.url`, 'want an http:// or https:// URL');
      const expect = v['expectStatus'];
      if (expect !== undefined && (typeof expect !== 'number' || !Number.isInteger(expect))) f.problem(`${where}.expectStatus`, 'want an HTTP status code');
      return { ...base(`http:${url}`), kind, url, ...(typeof expect === 'number' ? { expectStatus: expect } : {}) };
    }
    case 'file': {
      const path = f.string(v['path'], `${where}.path`);
      return { ...base(`file:${path}`), kind, path };
    }
    default:
      f.problem(`${where}.kind`, 'want "systemd", "command", "http" or "file"');
      return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
