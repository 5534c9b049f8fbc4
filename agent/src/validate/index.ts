/**
 * Typed reads of a JSON config file (the agent config, a board config) that
 * collect problems, each with the field's path, instead of throwing at the
 * first, so a user sees every mistake in a file at once; `finish` throws them together.
 * The one validator of `agent.json`: the modules that own a section (`mqtt`, `health`)
 * read it into the same `Fields`, so their problems are listed with the rest.
 */
import { OtaError } from '../errors/index.js';

/** How `finish` reports: the error code and what the file is (`agent config /etc/ota-agent/agent.json`). */
export interface FieldsReport {
  readonly code: string;
  readonly what: string;
}

/** Problems found in one config file. */
export class Fields {
  private readonly problems: string[] = [];

  constructor(readonly source: string, private readonly report: FieldsReport = { code: 'CONFIG_INVALID', what: `agent config ${source}` }) {}

  /** Record a problem at `path`. */
  problem(path: string, what: string): void {
    this.problems.push(`${path === '' ? '(top level)' : path}: ${what}`);
  }

  /** An object with only `keys`; unknown keys are problems (typos). */
  object(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problem(path, value === undefined ? 'is missing' : 'must be an object');
      return {};
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (keys.includes(k)) out[k] = v;
      else this.problem(path === '' ? k : `${path}.${k}`, `is not a known field (known: ${keys.join(', ')})`);
    }
    return out;
  }

  /** A non-empty string (matching `pattern` when given); '' when it is not. */
  string(value: unknown, path: string, pattern?: RegExp): string {
    if (typeof value !== 'string' || value === '') {
      this.problem(path, value === undefined ? 'is missing' : 'must be a non-empty string');
      return '';
    }
    if (pattern !== undefined && !pattern.test(value)) this.problem(path, `${JSON.stringify(value)} must match ${String(pattern)}`);
    return value;
  }

  /** An array of non-empty strings (each matching `pattern` when given). */
  stringArray(value: unknown, path: string, pattern?: RegExp): string[] {
    if (!Array.isArray(value)) {
      this.problem(path, value === undefined ? 'is missing' : 'must be an array of strings');
      return [];
    }
    return value.map((v: unknown, i) => this.string(v, `${path}[${i}]`, pattern));
  }

  /** A non-empty string (matching `pattern`), or undefined when absent. */
  optionalString(value: unknown, path: string, pattern?: RegExp): string | undefined {
    return value === undefined ? undefined : this.string(value, path, pattern);
  }

  /** An integer in [min, max], or `fallback` when absent. */
  optionalInteger(value: unknown, path: string, min: number, max: number, fallback: number): number {
    return value === undefined ? fallback : this.integer(value, path, min, max);
  }

  /** An integer in [min, max]; `min` when it is not. */
  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problem(path, `${JSON.stringify(value) ?? 'undefined'}: must be a whole number ${min}..${max}`);
      return min;
    }
    return value;
  }

  /** One of `choices`; undefined when it is not. */
  oneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T | undefined {
    const found = choices.find((c) => c === value);
    if (found === undefined) this.problem(path, `${JSON.stringify(value) ?? 'undefined'}: must be one of ${choices.join(', ')}`);
    return found;
  }

  /** Throw every problem found, if any. */
  finish(): void {
    if (this.problems.length === 0) return;
    throw new OtaError(this.report.code, `${this.report.what}: ${this.problems.length} problem(s); fix the file:\n  ${this.problems.join('\n  ')}`);
  }
}
