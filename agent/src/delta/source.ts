/**
 * Where COPY and ADD ops read from: the base image (positional reads through a
 * small read-ahead cache) or a file made of base extents (a gzip member of the
 * base read as its text is gunzip.ts).
 */
import { promises as fsp } from 'node:fs';
import { OtaError, withContext } from '../errors/index.js';
import type { Extent } from '../formats/index.js';

/** Positional reads of the base image; a fake in unit tests, a file or block device otherwise. */
export interface BaseReader {
  readonly sizeBytes: number;
  /** Fill `into` from `offsetBytes`; resolves to the bytes read (short only at the end). */
  read(into: Uint8Array, offsetBytes: number): Promise<number>;
  close(): Promise<void>;
}

/** A BaseReader on a file or block device. */
export async function openBaseFile(path: string, sizeBytes: number): Promise<BaseReader> {
  const fh = await fsp.open(path, 'r').catch((err: unknown) => { throw withContext(`base image (${path}): open`, err); });
  return {
    sizeBytes,
    async read(into, offsetBytes) {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await fh.read(into, done, into.length - done, offsetBytes + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    },
    close: () => fh.close(),
  };
}

/** A byte source ops read from. */
export interface Source {
  readonly sizeBytes: number;
  /** Read exactly `into.length` bytes at `offsetBytes`; refuses reads past the end. */
  read(into: Uint8Array, offsetBytes: number): Promise<void>;
}

const CACHE_BYTES = 256 * 1024;

/** The base image as a source, with a read-ahead window for the small reads bsdiff-style ops make. */
export class ImageSource implements Source {
  private readonly cache = Buffer.alloc(CACHE_BYTES);
  private cacheStart = -1;
  private cacheLength = 0;

  constructor(private readonly base: BaseReader, private readonly name: string) {}

  get sizeBytes(): number { return this.base.sizeBytes; }

  async read(into: Uint8Array, offsetBytes: number): Promise<void> {
    if (offsetBytes + into.length > this.base.sizeBytes) throw badRead(offsetBytes, into.length, this.base.sizeBytes);
    if (into.length > CACHE_BYTES / 4) return this.direct(into, offsetBytes);
    const inCache = offsetBytes >= this.cacheStart && offsetBytes + into.length <= this.cacheStart + this.cacheLength;
    if (!inCache) {
      const want = Math.min(CACHE_BYTES, this.base.sizeBytes - offsetBytes);
      this.cacheStart = -1;
      await this.direct(this.cache.subarray(0, want), offsetBytes);
      this.cacheStart = offsetBytes;
      this.cacheLength = want;
    }
    into.set(this.cache.subarray(offsetBytes - this.cacheStart, offsetBytes - this.cacheStart + into.length));
  }

  private async direct(into: Uint8Array, offsetBytes: number): Promise<void> {
    let n: number;
    try {
      n = await this.base.read(into, offsetBytes);
    } catch (err) {
      throw withContext(`base image (${this.name}): read ${into.length} bytes at offset ${offsetBytes}`, err, 'DELTA_BASE_READ');
    }
    if (n !== into.length) {
      throw new OtaError('DELTA_BASE_READ', `base image (${this.name}): short read at offset ${offsetBytes} (${n} of ${into.length} bytes): the base changed or is damaged; nothing was switched, retry the update`);
    }
  }
}

/** A file made of base extents, read as one contiguous source. */
export class ExtentSource implements Source {
  readonly sizeBytes: number;

  constructor(private readonly image: Source, private readonly extents: readonly Extent[]) {
    this.sizeBytes = extents.reduce((sum, e) => sum + e.lengthBytes, 0);
  }

  async read(into: Uint8Array, offsetBytes: number): Promise<void> {
    if (offsetBytes + into.length > this.sizeBytes) throw badRead(offsetBytes, into.length, this.sizeBytes);
    let start = 0;
    let done = 0;
    for (const e of this.extents) {
      if (done === into.length) break;
      const end = start + e.lengthBytes;
      const at = offsetBytes + done;
      if (at < end) {
        const n = Math.min(end - at, into.length - done);
        await this.image.read(into.subarray(done, done + n), e.offsetBytes + (at - start));
        done += n;
      }
      start = end;
    }
  }
}

function badRead(offsetBytes: number, lengthBytes: number, sizeBytes: number): OtaError {
  return corruptOp(`reads ${lengthBytes} bytes at offset ${offsetBytes} of a ${sizeBytes}-byte source`);
}

function corruptOp(detail: string): OtaError {
  return new OtaError('DELTA_CORRUPT', `delta op ${detail}: the delta does not fit this base; make it again`);
}
