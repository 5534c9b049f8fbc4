/**
 * From the raw copies to the env state, and from a change to the bytes to write: pure functions.
 * A write always goes to the non-current copy (the current one stays intact until the new one
 * is complete), with the flags that make it current for U-Boot.
 */
import { OtaError } from '../errors/index.js';
import { checkStorable, chooseCopy, encodeCopy, nextFlags, parseData, splitCopy, type CopyIndex, type FlagScheme, type SplitCopy } from './codec.js';
import type { EnvChanges, EnvVars } from './env.js';
import { checkName, checkValue } from './names.js';

/** The env as read: which copy is current, its flags and its variables (in stored order). */
export interface EnvState {
  readonly redundant: boolean;
  readonly current: CopyIndex;
  readonly flags: number;
  readonly vars: ReadonlyMap<string, string>;
}

/** The current copy of `copies` (one or two raw copies) and its variables; throws ENV_NO_VALID_COPY when no CRC is valid. */
export function decodeEnv(copies: readonly Uint8Array[], scheme: FlagScheme): EnvState {
  const redundant = copies.length === 2;
  const split = copies.map((c) => splitCopy(c, redundant));
  const [first, second] = split;
  if (first === undefined) throw new OtaError('ENV_NO_VALID_COPY', 'no env copy was read');
  const current = second === undefined ? (first.crcValid ? 0 : undefined) : chooseCopy(first, second, scheme);
  const chosen = current === undefined ? undefined : split[current];
  if (current === undefined || chosen === undefined) throw noValidCopy(split);
  return { redundant, current, flags: chosen.flags, vars: parseData(chosen.data) };
}

function noValidCopy(split: readonly SplitCopy[]): OtaError {
  const details = split.map((c, i) => `copy ${i + 1}: stored CRC 0x${hex(c.storedCrc)}, computed 0x${hex(c.computedCrc)}`).join('; ');
  return new OtaError('ENV_NO_VALID_COPY',
    `no env copy has a valid CRC (${details}): the env is blank or corrupt, or fw_env.config does not match U-Boot's env (offset, size, redundancy). ` +
    'U-Boot would boot its built-in default env; to write anyway, pass an explicit default env (--force-default FILE)',
    { cause: new Error(details) });
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** What to write: a whole copy, then (boolean scheme) the old copy's flags byte set to obsolete. */
export interface PlannedWrite {
  readonly copy: CopyIndex;
  readonly bytes: Uint8Array;
  /** The copy whose flags byte must then become OBSOLETE_FLAGS (boolean scheme only). */
  readonly obsolete?: CopyIndex;
}

/**
 * The write that makes `vars` current after `state`. With no valid state (both copies invalid and an
 * explicit default given), copy 0 is written, active.
 */
export function planWrite(state: EnvState | undefined, vars: EnvVars, sizeBytes: number, redundant: boolean, scheme: FlagScheme): PlannedWrite {
  if (!redundant) return { copy: 0, bytes: encodeCopy(vars, sizeBytes, false) };
  if (state === undefined) return { copy: 0, bytes: encodeCopy(vars, sizeBytes, true, 1) };
  const copy: CopyIndex = state.current === 0 ? 1 : 0;
  const bytes = encodeCopy(vars, sizeBytes, true, nextFlags(state.flags, scheme));
  return scheme === 'boolean' ? { copy, bytes, obsolete: state.current } : { copy, bytes };
}

/**
 * `vars` with `changes` applied (a string sets, null deletes), sorted by name in byte order as
 * U-Boot's saveenv and fw_setenv store them. Names and values are byte strings; every variable not
 * in `changes` keeps its bytes. Each change is checked against what may be set (checkName,
 * checkValue: ENV_BAD_NAME / ENV_BAD_VALUE) before anything is written; a deletion only needs a name
 * that could be stored, so a variable another tool wrote with a bad name can still be removed.
 */
export function applyChanges(vars: EnvVars, changes: EnvChanges): Map<string, string> {
  const next = new Map(vars);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) {
      checkStorable(name, '');
      next.delete(name);
    } else {
      checkName(name);
      checkValue(name, value);
      next.set(name, value);
    }
  }
  return sortVars(next);
}

/** `vars` sorted by name in byte (strcmp) order, the order fw_printenv prints and U-Boot saves. */
export function sortVars(vars: EnvVars): Map<string, string> {
  // byte strings: code unit order is byte order
  const names = [...vars.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(names.map((n) => [n, vars.get(n) ?? '']));
}
