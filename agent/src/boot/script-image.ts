/**
 * U-Boot's legacy script image (`mkimage -T script -C none`), the format of boot.scr: a 64-byte
 * big-endian header (magic 0x27051956, header CRC, time, data size, load, entry, data CRC, OS, arch,
 * type 6 = script, compression 0 = none, a 32-byte name), then the data: a zero-ended list of
 * 32-bit sizes (one entry: the text's) and the text. U-Boot's `source` refuses an image whose
 * magic, header CRC or data CRC is wrong (boot/image-board.c, image_source_script), and distro
 * boot then tries its next script name: that is what makes a torn boot.scr.uimg harmless.
 * Pure: bytes in, bytes or a typed refusal out.
 */
import { crc32 } from '../checksum/index.js';
import { OtaError } from '../errors/index.js';

const MAGIC = 0x27051956;
const HEADER_BYTES = 64;
const NAME_BYTES = 32;
const TYPE_SCRIPT = 6;
const COMP_NONE = 0;
const OS_LINUX = 5;
/** mkimage's architecture numbers (include/image.h, IH_ARCH_*). */
const ARCH = { arm: 2, arm64: 22 } as const;

/** A checked script image. */
export interface ScriptImage {
  /** The script text U-Boot runs. */
  readonly text: string;
  /** The image name (`-n`). */
  readonly name: string;
  readonly arch: 'arm' | 'arm64' | 'other';
}

function refuse(what: string, problem: string): OtaError {
  return new OtaError('BOOT_SCRIPT_IMAGE', `${what}: ${problem}: give a boot script made with mkimage -T script -C none (bootloader/build.sh)`);
}

/**
 * Read a legacy script image and check it as U-Boot's `source` does (magic, header CRC, data CRC,
 * type script, no compression), plus what `source` assumes (one sub-image that fits the data).
 * `what` names the file in the refusal.
 */
export function parseScriptImage(bytes: Uint8Array, what: string): ScriptImage {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER_BYTES + 8) throw refuse(what, `${b.length} bytes, too short for a script image`);
  if (b.readUInt32BE(0) !== MAGIC) throw refuse(what, 'not a U-Boot legacy image (bad magic)');
  const header = Buffer.from(b.subarray(0, HEADER_BYTES));
  header.writeUInt32BE(0, 4);
  if (crc32(header) !== b.readUInt32BE(4)) throw refuse(what, 'header CRC is wrong (damaged)');
  const size = b.readUInt32BE(12);
  if (size > b.length - HEADER_BYTES) throw refuse(what, `the header says ${size} data bytes but ${b.length - HEADER_BYTES} follow (truncated)`);
  const data = b.subarray(HEADER_BYTES, HEADER_BYTES + size);
  if (crc32(data) !== b.readUInt32BE(24)) throw refuse(what, 'data CRC is wrong (damaged)');
  if (b[30] !== TYPE_SCRIPT) throw refuse(what, `image type ${String(b[30])} is not a script (6)`);
  if (b[31] !== COMP_NONE) throw refuse(what, 'compressed script images are not supported');
  const textBytes = data.length >= 8 ? data.readUInt32BE(0) : 0;
  if (data.length < 8 || data.readUInt32BE(4) !== 0 || textBytes === 0 || textBytes > data.length - 8) throw refuse(what, 'not one script in the image (sizes list)');
  const archByte = b[29];
  const arch = archByte === ARCH.arm ? 'arm' : archByte === ARCH.arm64 ? 'arm64' : 'other';
  const name = b.subarray(32, 32 + NAME_BYTES).toString('latin1').replace(/\0.*$/s, '');
  return { text: data.subarray(8, 8 + textBytes).toString('latin1'), name, arch };
}

/** True when `bytes` is a script image U-Boot's `source` would run. */
export function isValidScriptImage(bytes: Uint8Array): boolean {
  try {
    parseScriptImage(bytes, 'script');
    return true;
  } catch (err) {
    if (err instanceof OtaError && err.code === 'BOOT_SCRIPT_IMAGE') return false;
    throw err;
  }
}

/** Make a script image of `text`, as `mkimage -A ARCH -O linux -T script -C none -n NAME` does (time `epochSeconds`). */
export function makeScriptImage(text: string, arch: 'arm' | 'arm64', name: string, epochSeconds = 0): Buffer {
  const body = Buffer.from(text, 'latin1');
  const data = Buffer.alloc(8 + body.length);
  data.writeUInt32BE(body.length, 0);
  body.copy(data, 8);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(epochSeconds >>> 0, 8);
  header.writeUInt32BE(data.length, 12);
  header.writeUInt32BE(crc32(data), 24);
  header[28] = OS_LINUX;
  header[29] = ARCH[arch];
  header[30] = TYPE_SCRIPT;
  header[31] = COMP_NONE;
  header.write(name.slice(0, NAME_BYTES - 1), 32, 'latin1');
  header.writeUInt32BE(crc32(header), 4);
  return Buffer.concat([header, data]);
}
