/**
 * A small checker for JSON config files: each accessor validates one value and
 * records a problem with its path instead of throwing, so a user sees every
 * mistake in a file at once; `finish` throws them together.
 */
import { OtaError } from '../errors/index.js';

/** Collects problems found in one JSON document. */
export class Checker {
  private readonly problems: string[] = [];

  constructor(readonly source: string) {}

  /** Record a problem at `path` (`env.fwEnvConfig`). */
  problem(path: string, what: string): void {
    this.problems.push(`${path === '' ? '(top level)' : path} ${what}`);
  }

  /** An object with only `keys` (all optional here; required fields are checked by their accessor). */
  object(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problem(path, value === undefined ? 'is missing' : 'must be an object');
      return {};
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!keys.includes(k)) this.problem(path === '' ? k : `${path}.${k}`, `is not a known field (known: ${keys.join(', ')})`);
      else out[k] = v;
    }
    return out;
  }

  /** A string matching `pattern`; '' when it is not. */
  string(value: unknown, path: string, pattern: RegExp): string {
    if (typeof value !== 'string') {
      this.problem(path, value === undefined ? 'is missing' : 'must be a string');
      return '';
    }
    if (!pattern.test(value)) this.problem(path, `${JSON.stringify(value)} does not match ${String(pattern)}`);
    return value;
  }

  /** An array of strings, each matching `pattern`. */
  stringArray(value: unknown, path: string, pattern: RegExp): string[] {
    if (!Array.isArray(value)) {
      this.problem(path, value === undefined ? 'is missing' : 'must be an array of strings');
      return [];
    }
    return value.map((v: unknown, i) => this.string(v, `${path}[${i}]`, pattern));
  }

  /** One of `choices`; null when it is not. */
  oneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T | null {
    const found = choices.find((ch) => ch === value);
    if (found === undefined) this.problem(path, `${value === undefined ? 'is missing' : JSON.stringify(value)}: must be one of ${choices.join(', ')}`);
    return found ?? null;
  }

  /** Throw every problem found, if any. */
  finish(): void {
    if (this.problems.length === 0) return;
    throw new OtaError('BOARD_CONFIG_INVALID', `${this.source}: ${this.problems.length} problem(s):\n  ${this.problems.join('\n  ')}`);
  }
}
