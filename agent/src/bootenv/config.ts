/**
 * fw_env.config, in the syntax libubootenv and u-boot-tools read (`sscanf("%s %lli %lx %lx %lx")`):
 *   DEVICE  OFFSET  ENV-SIZE  [SECTOR-SIZE  [SECTOR-COUNT]]
 * one line for a single env, two for a redundant one. OFFSET is a C integer (decimal, 0x hex,
 * leading-0 octal) and may be negative: counted from the end of the device. The sizes are hex
 * with or without 0x (so `8192` means 0x8192, as in the tools). '#' starts a comment.
 * Stricter than the tools on purpose: a malformed line is an error, not silently skipped; an env
 * size past 16 MiB, an offset past 2^53 - 16 MiB and two copies that share a byte are refused.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { OtaError, withContext } from '../errors/index.js';

/** One line of fw_env.config: where one copy of the env lives. */
export interface EnvDeviceConfig {
  readonly device: string;
  /** Offset in the device; negative means from the end of the device. */
  readonly offsetBytes: number;
  readonly envSizeBytes: number;
  /** Erase block size (MTD); 0 when not given. */
  readonly sectorSizeBytes: number;
  /** Erase blocks for the env (MTD); 0 when not given. */
  readonly sectorCount: number;
}

/** A parsed fw_env.config: one copy (single env) or two (redundant env). */
export interface EnvConfig {
  readonly copies: readonly [EnvDeviceConfig] | readonly [EnvDeviceConfig, EnvDeviceConfig];
}

/** Parse the text of a fw_env.config; relative device paths resolve against `cwd` (as the tools open them). */
export function parseEnvConfig(text: string, cwd: string, source = 'fw_env.config'): EnvConfig {
  const devices: EnvDeviceConfig[] = [];
  text.split('\n').forEach((raw, i) => {
    const tokens = raw.trim().split(/\s+/).filter((t) => t !== '');
    const cut = tokens.findIndex((t) => t.startsWith('#'));
    const fields = cut < 0 ? tokens : tokens.slice(0, cut);
    if (fields.length === 0) return;
    devices.push(parseLine(fields, cwd, `${source} line ${i + 1}`));
  });
  const [first, second, third] = devices;
  if (first === undefined) throw configError(`${source}: no env device line (expected DEVICE OFFSET SIZE)`);
  if (third !== undefined) throw configError(`${source}: more than two env device lines; a redundant env has exactly two`);
  if (second === undefined) return { copies: [first] };
  if (second.envSizeBytes !== first.envSizeBytes) {
    throw configError(`${source}: the two copies have different sizes (0x${first.envSizeBytes.toString(16)}, 0x${second.envSizeBytes.toString(16)}); U-Boot uses one CONFIG_ENV_SIZE for both`);
  }
  // Offsets of opposite signs on one device are compared once the device size is known (openBootEnv).
  if (first.device === second.device && (first.offsetBytes < 0) === (second.offsetBytes < 0)) {
    checkApart(first.device, first.offsetBytes, second.offsetBytes, first.envSizeBytes, source);
  }
  return { copies: [first, second] };
}

/** The largest env size accepted: see parseLine. */
export const MAX_ENV_SIZE_BYTES = 16 * 1024 * 1024;

/** The largest sector size and count accepted: the kernel's MTD interface holds them in 32 bits. */
export const MAX_SECTOR_VALUE = 0xffffffff;

/**
 * Throws ENV_CONFIG when the copies at `offsetA` and `offsetB` (same device, absolute or both from
 * the end) share a byte: each write of one would damage the other, both CRCs would end up bad and
 * U-Boot would boot its built-in defaults. Checked before anything is read or written.
 */
export function checkApart(device: string, offsetA: number, offsetB: number, sizeBytes: number, source: string): void {
  if (offsetA < offsetB + sizeBytes && offsetB < offsetA + sizeBytes) {
    const range = (o: number): string => `${o < 0 ? '-' : ''}0x${Math.abs(o).toString(16)}..${o + sizeBytes < 0 ? '-' : ''}0x${Math.abs(o + sizeBytes).toString(16)}`;
    throw configError(`${source}: the two env copies overlap on ${device} (${range(offsetA)} and ${range(offsetB)}): a write of one would corrupt the other and U-Boot would boot its defaults; give each copy its own ${sizeBytes} bytes (U-Boot's CONFIG_ENV_OFFSET and CONFIG_ENV_OFFSET_REDUND)`);
  }
}

/** Read and parse the fw_env.config at `path`. */
export async function readEnvConfig(path: string, cwd = process.cwd()): Promise<EnvConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw withContext(`read env config ${path} (pass --config FILE to use another)`, err, 'ENV_CONFIG');
  }
  return parseEnvConfig(text, cwd, path);
}

function parseLine(fields: readonly string[], cwd: string, where: string): EnvDeviceConfig {
  const [device, offset, size, sectorSize, sectorCount, ...rest] = fields;
  if (device === undefined || offset === undefined || size === undefined) {
    throw configError(`${where}: expected DEVICE OFFSET SIZE [SECTOR-SIZE [SECTOR-COUNT]], got ${JSON.stringify(fields.join(' '))}`);
  }
  // libubootenv reads a sixth field (disable MTD lock); it means nothing here but is allowed.
  if (rest.length > 1) throw configError(`${where}: too many fields`);
  const envSizeBytes = parseHex(size, `${where}: env size`);
  if (envSizeBytes === 0) throw configError(`${where}: env size is zero`);
  // U-Boot reads the whole env into RAM and imports it at every boot: real CONFIG_ENV_SIZEs are
  // 8 KiB to 1 MiB. The agent holds both copies and the one it writes in memory, so a size past
  // 16 MiB is a typo, and a size past 2 GiB would abort Node rather than fail.
  if (envSizeBytes > MAX_ENV_SIZE_BYTES) {
    throw configError(`${where}: env size 0x${envSizeBytes.toString(16)} is larger than 16 MiB (0x${MAX_ENV_SIZE_BYTES.toString(16)}); U-Boot's CONFIG_ENV_SIZE is kilobytes: check the size field (hex)`);
  }
  const offsetBytes = parseCInteger(offset, `${where}: offset`);
  // Positions must stay exact in a JS number through offset + size (and device size + a negative offset).
  if (Math.abs(offsetBytes) > Number.MAX_SAFE_INTEGER - MAX_ENV_SIZE_BYTES) {
    throw configError(`${where}: offset ${offset} is out of range (at most 2^53 - 16 MiB either way, past any real device)`);
  }
  return {
    device: isAbsolute(device) ? device : resolve(cwd, device),
    offsetBytes,
    envSizeBytes,
    sectorSizeBytes: sectorSize === undefined ? 0 : parseSector(sectorSize, `${where}: sector size`),
    sectorCount: sectorCount === undefined ? 0 : parseSector(sectorCount, `${where}: sector count`),
  };
}

function parseSector(token: string, what: string): number {
  const n = parseHex(token, what);
  if (n > MAX_SECTOR_VALUE) throw configError(`${what}: ${token} is larger than 0xffffffff (the kernel's MTD erase size is 32 bits)`);
  return n;
}

/** A C integer as `%lli` reads it: optional sign, then 0x hex, leading-0 octal, or decimal. */
export function parseCInteger(token: string, what: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(token);
  if (m === null) throw configError(`${what}: ${JSON.stringify(token)} is not an integer (decimal, 0x hex or 0 octal)`);
  const body = m[2] ?? '0';
  const magnitude = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.startsWith('0') ? parseInt(body, 8) : parseInt(body, 10);
  return checkSafe(m[1] === '-' ? -magnitude : magnitude, token, what);
}

/** A hex number as `%lx` reads it: with or without 0x. */
export function parseHex(token: string, what: string): number {
  const m = /^(?:0[xX])?([0-9a-fA-F]+)$/.exec(token);
  if (m === null) throw configError(`${what}: ${JSON.stringify(token)} is not a hex number (the tools read sizes as hex, 0x optional)`);
  return checkSafe(parseInt(m[1] ?? '0', 16), token, what);
}

function checkSafe(n: number, token: string, what: string): number {
  if (!Number.isSafeInteger(n)) throw configError(`${what}: ${token} is out of range`);
  return n;
}

function configError(message: string): OtaError {
  return new OtaError('ENV_CONFIG', message);
}
