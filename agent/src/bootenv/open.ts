/**
 * Open a `UBootEnv` from fw_env.config: each line's device decides its storage, once, here.
 * /dev/mtdN -> MTD NOR (boolean flags); mmcblkXbootY -> eMMC boot partition (force_ro);
 * /dev/ubiX_Y -> refused (not supported);
 * anything else -> a region of a file or block device (incremental flags), which covers a
 * `uboot.env` file on a mounted FAT boot partition. A negative offset counts from the device end.
 */
import { basename } from 'node:path';
import { OtaError, describe, withContext } from '../errors/index.js';
import type { FlagScheme } from './codec.js';
import { checkApart, readEnvConfig, type EnvConfig, type EnvDeviceConfig } from './config.js';
import { extentOf } from './extent.js';
import { EmmcBootRegion, MtdNorRegion, emmcBootName, mtdNumber, mtdType } from './devices.js';
import { FileRegion, nodeFileIo, type CopyStorage, type FileIo } from './storage.js';
import { UBootEnv } from './uboot-env.js';

/** The default fw_env.config path, as the tools use. */
export const DEFAULT_ENV_CONFIG_PATH = '/etc/fw_env.config';

/** Where to find the env, and the roots tests replace. */
export interface OpenBootEnvOptions {
  /** A parsed config; when absent, `configPath` (default /etc/fw_env.config) is read. */
  readonly config?: EnvConfig;
  readonly configPath?: string;
  /** Against which relative device paths in the config resolve (default: the process cwd). */
  readonly cwd?: string;
  /** The sysfs mount (default /sys): force_ro, block and MTD sizes, MTD types. */
  readonly sysfsRoot?: string;
  /** File operations (default: Node's); tests inject faults here. */
  readonly io?: FileIo;
}

/** Open the U-Boot env that fw_env.config describes. */
export async function openBootEnv(options: OpenBootEnvOptions = {}): Promise<UBootEnv> {
  const config = options.config ?? await readEnvConfig(options.configPath ?? DEFAULT_ENV_CONFIG_PATH, options.cwd);
  const io = options.io ?? nodeFileIo;
  const sysfsRoot = options.sysfsRoot ?? '/sys';
  const opened = await Promise.all(config.copies.map((c) => openCopy(c, sysfsRoot, io)));
  const [first, second] = opened;
  if (first === undefined) throw new OtaError('ENV_CONFIG', 'fw_env.config names no env device');
  if (second !== undefined && second.scheme !== first.scheme) {
    throw new OtaError('ENV_CONFIG', `the two env copies are on different kinds of storage (${first.storage.description}, ${second.storage.description}); U-Boot keeps both on one`);
  }
  if (second !== undefined) await checkCopiesApart(first, second, config.copies[0].envSizeBytes, sysfsRoot, io, options.configPath ?? 'fw_env.config');
  const sizeBytes = config.copies[0].envSizeBytes;
  if (first.scheme === 'boolean' && second !== undefined) await checkSeparateEraseBlocks(config, sysfsRoot, io);
  return new UBootEnv({ sizeBytes, scheme: first.scheme, copies: second === undefined ? [first.storage] : [first.storage, second.storage] });
}

interface OpenedCopy {
  readonly storage: CopyStorage;
  readonly scheme: FlagScheme;
  readonly device: string;
  /** Where the copy starts, a negative offset resolved against the device size. */
  readonly offsetBytes: number;
}

/** Refuses (ENV_CONFIG) two copies that share a byte, whatever names fw_env.config gives their storage (extent.ts). */
async function checkCopiesApart(a: OpenedCopy, b: OpenedCopy, sizeBytes: number, sysfsRoot: string, io: FileIo, source: string): Promise<void> {
  const [ea, eb] = await Promise.all([extentOf(a.device, a.offsetBytes, sysfsRoot, io), extentOf(b.device, b.offsetBytes, sysfsRoot, io)]);
  if (ea.storage !== eb.storage) return;
  checkApart(a.device === b.device ? a.device : `${a.device} and ${b.device} (${ea.storage})`, ea.startBytes, eb.startBytes, sizeBytes, source);
}

async function openCopy(c: EnvDeviceConfig, sysfsRoot: string, io: FileIo): Promise<OpenedCopy> {
  if (/^ubi\d+[_:]/.test(basename(c.device))) {
    throw new OtaError('ENV_UNSUPPORTED_DEVICE', `${c.device} is a UBI volume: not supported (a volume update needs the UBI_IOCVOLUP ioctl); use fw_setenv, or put the env on a block device or NOR`);
  }
  const mtd = mtdNumber(c.device);
  if (mtd !== undefined) {
    const type = await mtdType(mtd, sysfsRoot, io);
    if (type !== 'nor') {
      throw new OtaError('ENV_UNSUPPORTED_DEVICE', `${c.device} is ${type} flash: only NOR MTD is supported (mtdblock has no bad-block handling); use fw_setenv, or put the env on a block device`);
    }
    const offset = await absoluteOffset(c, () => readSysfsNumber(io, `${sysfsRoot}/class/mtd/mtd${mtd}/size`));
    return { storage: new MtdNorRegion(c.device, offset, c.envSizeBytes, io), scheme: 'boolean', device: c.device, offsetBytes: offset };
  }
  const offset = await absoluteOffset(c, () => deviceSize(c.device, sysfsRoot, io));
  if (emmcBootName(c.device) !== undefined) {
    return { storage: new EmmcBootRegion(c.device, offset, c.envSizeBytes, sysfsRoot, io), scheme: 'incremental', device: c.device, offsetBytes: offset };
  }
  return { storage: new FileRegion(c.device, offset, c.envSizeBytes, io), scheme: 'incremental', device: c.device, offsetBytes: offset };
}

/**
 * On NOR, writing a copy through mtdblock erases its whole erase block: if the other copy shared it,
 * a power cut during that erase would destroy both. U-Boot also keeps them in separate sectors.
 */
async function checkSeparateEraseBlocks(config: EnvConfig, sysfsRoot: string, io: FileIo): Promise<void> {
  const [a, b] = config.copies;
  if (b === undefined || a.device !== b.device) return;
  const mtd = mtdNumber(a.device) ?? 0;
  const eraseBytes = a.sectorSizeBytes > 0 ? a.sectorSizeBytes : await readSysfsNumber(io, `${sysfsRoot}/class/mtd/mtd${mtd}/erasesize`);
  const blocks = async (c: EnvDeviceConfig): Promise<[number, number]> => {
    const start = await absoluteOffset(c, () => readSysfsNumber(io, `${sysfsRoot}/class/mtd/mtd${mtd}/size`));
    return [Math.floor(start / eraseBytes), Math.floor((start + c.envSizeBytes - 1) / eraseBytes)];
  };
  const [a0, a1] = await blocks(a);
  const [b0, b1] = await blocks(b);
  if (a0 <= b1 && b0 <= a1) {
    throw new OtaError('ENV_CONFIG', `${a.device}: both env copies lie in the same ${eraseBytes}-byte erase block; an erase for one would put the other at risk. Put them in separate sectors, as U-Boot's CONFIG_ENV_OFFSET_REDUND does`);
  }
}

async function absoluteOffset(c: EnvDeviceConfig, size: () => Promise<number>): Promise<number> {
  if (c.offsetBytes >= 0) return c.offsetBytes;
  const total = await size();
  const offset = total + c.offsetBytes;
  if (offset < 0) throw new OtaError('ENV_CONFIG', `${c.device}: offset ${c.offsetBytes} reaches before the start of the device (${total} bytes)`);
  return offset;
}

/** Size of a regular file (stat) or of a block device (sysfs, in 512-byte sectors). */
async function deviceSize(device: string, sysfsRoot: string, io: FileIo): Promise<number> {
  let st;
  try {
    st = await io.stat(device);
  } catch (err) {
    throw withContext(`boot env: stat ${device}`, err);
  }
  if (!st.isBlockDevice()) return st.size;
  return 512 * await readSysfsNumber(io, `${sysfsRoot}/class/block/${basename(device)}/size`);
}

async function readSysfsNumber(io: FileIo, path: string): Promise<number> {
  let text: string;
  try {
    text = (await io.readText(path)).trim();
  } catch (err) {
    throw new OtaError('ENV_CONFIG', `boot env: read ${path}: ${describe(err)}`, { cause: err });
  }
  if (!/^\d+$/.test(text)) throw new OtaError('ENV_CONFIG', `${path}: expected a number, got ${JSON.stringify(text)}`);
  return Number(text);
}
