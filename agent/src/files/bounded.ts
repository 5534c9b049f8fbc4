/**
 * The one capped reader: reads at most `maxBytes + 1` bytes whatever the path is
 * (a regular file, /dev/zero, /dev/urandom, a pipe), so a size cap holds while
 * reading rather than only against what `stat` says (0 for a pipe or a device).
 */
import { promises as fsp } from 'node:fs';
import { OtaError, withContext } from '../errors/index.js';

/** Builds the error for input over the cap; `sizeBytes` is the stat size, or the bytes seen (the cap + 1) when unknown. */
export type Oversize = (sizeBytes: number) => Error;

const CHUNK_BYTES = 64 * 1024;

/** The default refusal: `FILE_TOO_LARGE`. */
export function tooLarge(what: string, path: string, maxBytes: number): Oversize {
  return (sizeBytes) => new OtaError('FILE_TOO_LARGE', `${what} (${path}): ${sizeBytes} bytes or more, over the ${maxBytes}-byte cap: name the right file`);
}

/** Read all of `path` if it holds at most `maxBytes`; otherwise throw `oversize(...)` having read no more than the cap + 1. */
export async function readBounded(path: string, maxBytes: number, what: string, oversize: Oversize = tooLarge(what, path, maxBytes)): Promise<Buffer> {
  const fh = await fsp.open(path, 'r').catch((err: unknown) => { throw withContext(`${what} (${path}): open`, err); });
  try {
    const st = await fh.stat();
    if (st.isFile() && st.size > maxBytes) throw oversize(st.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(CHUNK_BYTES, maxBytes + 1 - total));
      // position null: read on from the file position, as a pipe or character device must be read
      const { bytesRead } = await fh.read(buf, 0, buf.length, null).catch((err: unknown) => { throw withContext(`${what} (${path}): read`, err); });
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw oversize(total);
    }
  } finally {
    await fh.close();
  }
}
