/**
 * CRC-32 as zlib computes it (polynomial 0xEDB88320, reflected, initial and
 * final XOR 0xFFFFFFFF): what U-Boot stores in an env copy and gzip in its
 * trailer and header CRC. Our own because `zlib.crc32` does not exist in
 * Node 18, which the device runs.
 */
import { gzipSync } from 'node:zlib';

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Inputs between these sizes (a U-Boot env copy is 8-256 KiB) take zlib's native CRC from the
 * trailer of a stored (level 0) gzip: a JavaScript loop over them is hot enough to start V8's
 * optimizing compiler, which costs the idle agent about 3.5 MiB of RSS for good (bench/README.md,
 * footprint). The stored copy is as big as the input, hence the upper bound.
 */
const NATIVE_MIN_BYTES = 1024;
const NATIVE_MAX_BYTES = 256 * 1024;

/** CRC-32 of `bytes` (unsigned 32-bit). Pass a previous result as `crc` to continue over more bytes. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (crc === 0 && bytes.length >= NATIVE_MIN_BYTES && bytes.length <= NATIVE_MAX_BYTES) {
    const stored = gzipSync(bytes, { level: 0 });
    return stored.readUInt32LE(stored.length - 8);
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c = (TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
