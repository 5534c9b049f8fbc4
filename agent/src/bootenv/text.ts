/**
 * The text form of an env: `name=value` lines, as mkenvimage reads them and `fw_setenv -s` takes
 * them. Empty lines and lines starting with '#' are skipped; a trailing CR is dropped.
 * Unlike libubootenv 0.3.2 (which silently sets an empty value for a `name value` line), a line
 * without '=' is an error naming the line. `text` is a byte string (names.ts): read a file with
 * `latin1` so its bytes reach the env as given. Every entry is checked as a change (checkName,
 * checkValue), so a CR inside a line or a control byte is refused with its line number.
 */
import { OtaError } from '../errors/index.js';
import { checkName, checkValue } from './names.js';

/** One `name=value` line of a text env; `value` is '' for `name=`. */
export interface EnvTextEntry {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

/** The entries of `text` in order; throws ENV_TEXT for a line without '=' or with an invalid name. */
export function parseEnvText(text: string, source: string): EnvTextEntry[] {
  const entries: EnvTextEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) {
      throw new OtaError('ENV_TEXT', `${source} line ${i + 1}: ${JSON.stringify(line)} has no '=': write name=value (name= deletes)`);
    }
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1);
    try {
      checkName(name);
      checkValue(name, value);
    } catch (err) {
      throw new OtaError('ENV_TEXT', `${source} line ${i + 1}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    entries.push({ name, value, line: i + 1 });
  });
  return entries;
}

/**
 * A default env (mkenvimage input): the variables of `text`, a later duplicate replacing the value;
 * `name=` leaves the variable out (U-Boot drops empty variables when it imports an env).
 */
export function envVarsFromText(text: string, source: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const e of parseEnvText(text, source)) {
    if (e.value === '') vars.delete(e.name); else vars.set(e.name, e.value);
  }
  return vars;
}

/** A script of changes (`fw_setenv -s`): `name=value` sets, `name=` deletes. */
export function envChangesFromText(text: string, source: string): Record<string, string | null> {
  // fromEntries defines own properties, so a variable named `__proto__` stays a variable.
  return Object.fromEntries(parseEnvText(text, source).map((e) => [e.name, e.value === '' ? null : e.value]));
}
