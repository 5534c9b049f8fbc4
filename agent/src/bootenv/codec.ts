/**
 * The U-Boot environment on storage, as bytes: pure functions, no I/O.
 *
 * Single copy:    CRC32 LE (4) | data (size - 4)
 * Redundant copy: CRC32 LE (4) | flags (1, not under the CRC) | data (size - 5)
 * data = `name=value\0` ... `\0`, then padding (covered by the CRC; we pad with 0x00 like U-Boot).
 * Sources: U-Boot include/env_internal.h, env/common.c (env_check_redund), env/flash.c;
 * libubootenv src/uboot_env.c (libuboot_load, libuboot_env_store). See ../shared/docs/uboot-env.md.
 */
import { OtaError } from '../errors/index.js';
import { crc32 } from '../checksum/index.js';
import type { EnvVars } from './env.js';
import { byteString, isByteString, showBytes } from './names.js';

/**
 * How the flags byte of a redundant env orders the two copies.
 * `incremental`: a counter bumped on each save, 0xFF wraps to 0 (U-Boot on block devices, NAND, files).
 * `boolean`: 1 = active, 0 = obsolete (U-Boot env/flash.c, libubootenv on NOR MTD).
 */
export type FlagScheme = 'incremental' | 'boolean';

/** Index of a copy: 0 = first line of fw_env.config, 1 = second. */
export type CopyIndex = 0 | 1;

/** Where a redundant copy keeps its flags byte: right after the CRC. */
export const FLAGS_OFFSET_BYTES = 4;

/** Bytes before the data area: CRC, plus the flags byte when redundant. */
export function headerBytes(redundant: boolean): number {
  return redundant ? 5 : 4;
}

/** One copy split into its fields, with its CRC checked. */
export interface SplitCopy {
  readonly crcValid: boolean;
  readonly storedCrc: number;
  readonly computedCrc: number;
  /** The flags byte; 0 for a single (non-redundant) copy. */
  readonly flags: number;
  readonly data: Uint8Array;
}

/** Split and check one copy of `bytes.length` bytes. */
export function splitCopy(bytes: Uint8Array, redundant: boolean): SplitCopy {
  const header = headerBytes(redundant);
  if (bytes.length <= header) throw new OtaError('ENV_TOO_SMALL', `an env copy of ${bytes.length} bytes has no room for data: check the env size in fw_env.config`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storedCrc = view.getUint32(0, true);
  const data = bytes.subarray(header);
  const computedCrc = crc32(data);
  return { crcValid: storedCrc === computedCrc, storedCrc, computedCrc, flags: redundant ? (bytes[FLAGS_OFFSET_BYTES] ?? 0) : 0, data };
}

/**
 * Which copy is current, exactly as U-Boot chooses; undefined when neither CRC is valid.
 * One valid CRC: that copy. Both valid, incremental (env/common.c env_check_redund):
 * (0xFF, 0) -> second, (0, 0xFF) -> first, else the larger, equal -> first.
 * Both valid, boolean (env/flash.c env_init): (1, 0) -> first, (0, 1) -> second, equal -> first,
 * then an unwritten 0xFF flag wins (first checked first); any other pair -> first.
 */
export function chooseCopy(first: SplitCopy, second: SplitCopy, scheme: FlagScheme): CopyIndex | undefined {
  if (first.crcValid !== second.crcValid) return first.crcValid ? 0 : 1;
  if (!first.crcValid) return undefined;
  return scheme === 'incremental' ? chooseIncremental(first.flags, second.flags) : chooseBoolean(first.flags, second.flags);
}

function chooseIncremental(f1: number, f2: number): CopyIndex {
  if (f1 === 0xff && f2 === 0) return 1;
  if (f2 === 0xff && f1 === 0) return 0;
  return f2 > f1 ? 1 : 0;
}

function chooseBoolean(f1: number, f2: number): CopyIndex {
  if (f1 === 1 && f2 === 0) return 0;
  if (f1 === 0 && f2 === 1) return 1;
  if (f1 === f2 || f1 === 0xff) return 0;
  return f2 === 0xff ? 1 : 0;
}

/** The flags byte of the copy written after one whose flags are `current`. */
export function nextFlags(current: number, scheme: FlagScheme): number {
  return scheme === 'incremental' ? (current + 1) & 0xff : 1;
}

/** The flags byte that marks a copy obsolete in the boolean scheme (a 1 -> 0 bit write, no erase needed). */
export const OBSOLETE_FLAGS = 0;

/**
 * Variables of a data area, as fw_printenv (libubootenv) sees them: entries up to the first empty
 * one; an entry without '=' or with an empty name is skipped; a later duplicate replaces the value.
 * Names and values are byte strings (see names.ts): every byte comes back as stored.
 * Throws ENV_CORRUPT when the entries run past the end (no terminating NUL).
 */
export function parseData(data: Uint8Array): Map<string, string> {
  const vars = new Map<string, string>();
  let start = 0;
  while (start < data.length && data[start] !== 0) {
    const end = data.indexOf(0, start);
    if (end < 0) throw new OtaError('ENV_CORRUPT', 'the env data has a valid CRC but its last entry is not terminated: the env size in fw_env.config may be wrong');
    const entry = byteString(data.subarray(start, end));
    const eq = entry.indexOf('=');
    if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
    start = end + 1;
  }
  return vars;
}

/**
 * Throws unless the entry can be stored at all: a byte-string name, non-empty, without '=' or NUL
 * (ENV_BAD_NAME); a byte-string value without NUL (ENV_BAD_VALUE). Looser than checkName/checkValue
 * on purpose: a variable another tool wrote (a newline in a value) is kept as it is.
 */
export function checkStorable(name: string, value: string): void {
  if (name === '' || !isByteString(name) || /[=\0]/.test(name)) {
    throw new OtaError('ENV_BAD_NAME', `invalid env variable name ${showBytes(name)}: a stored name is bytes, non-empty, without '=' and NUL`);
  }
  if (!isByteString(value) || value.includes('\0')) {
    throw new OtaError('ENV_BAD_VALUE', `invalid value for env variable ${showBytes(name)}: a stored value is bytes without NUL`);
  }
}

/** Bytes `vars` take in a data area, final NUL included. */
export function encodedDataBytes(vars: EnvVars): number {
  let total = 1;
  for (const [name, value] of vars) total += name.length + value.length + 2;
  return total;
}

/** The data area of `dataSizeBytes` for `vars` (byte strings) in their order, zero-padded; throws ENV_TOO_SMALL when they do not fit. */
export function serializeData(vars: EnvVars, dataSizeBytes: number): Uint8Array {
  for (const [name, value] of vars) checkStorable(name, value);
  const needed = encodedDataBytes(vars);
  if (needed > dataSizeBytes) {
    throw new OtaError('ENV_TOO_SMALL', `the variables need ${needed} bytes but the env data area holds ${dataSizeBytes}: delete variables or use a larger env (fw_env.config size must match U-Boot's CONFIG_ENV_SIZE)`);
  }
  const data = new Uint8Array(dataSizeBytes);
  let at = 0;
  for (const [name, value] of vars) {
    data.set(Buffer.from(`${name}=${value}`, 'latin1'), at);
    at += name.length + value.length + 2;
  }
  return data;
}

/** One whole copy of `sizeBytes`: CRC (LE), flags when `redundant`, data of `vars`. */
export function encodeCopy(vars: EnvVars, sizeBytes: number, redundant: boolean, flags = 0): Uint8Array {
  const header = headerBytes(redundant);
  if (sizeBytes <= header) throw new OtaError('ENV_TOO_SMALL', `an env of ${sizeBytes} bytes has no room for data`);
  const bytes = new Uint8Array(sizeBytes);
  const data = serializeData(vars, sizeBytes - header);
  bytes.set(data, header);
  new DataView(bytes.buffer).setUint32(0, crc32(data), true);
  if (redundant) bytes[4] = flags & 0xff;
  return bytes;
}
