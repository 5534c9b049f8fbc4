/**
 * The target side of an apply: writes the new slot sequentially through a 256 KiB
 * buffer, hashes every byte as it goes, refuses the first byte past the declared
 * size, and streams the raw bytes of a deflate rebuild through GNU gzip's deflate (its window
 * and staging only: the rebuild's raw and deflated bytes are never held whole).
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { OtaError, withContext } from '../errors/index.js';
import type { DeflateParams } from '../formats/index.js';
import { GzipCompressor } from './gzip/index.js';

const BUFFER_BYTES = 256 * 1024;
const ZEROS = new Uint8Array(64 * 1024);

/** Writes target bytes in order, hashing them; `limitBytes` is where the current segment must end. */
export class TargetWriter {
  private readonly buffer = Buffer.alloc(BUFFER_BYTES);
  private buffered = 0;
  /** Target offset of the buffer's first byte. */
  private flushedBytes: number;
  private deflating: { rawSizeBytes: number; filled: number; deflatedSizeBytes: number; producedBytes: number } | undefined;
  /** One compressor for every rebuild: its window, chains, buffers and trees are allocated once (memory stays flat). */
  private readonly compressor = new GzipCompressor();
  /** Bytes accepted so far (written or buffered). */
  offsetBytes: number;
  /** The current segment may not write past this offset. */
  limitBytes: number;

  /**
   * `sparse`: the target is a regular file that was empty, so long zero runs become holes
   * (seek instead of write; the file reads zeros there). Never on a resumed, existing or block target.
   */
  constructor(private readonly fh: FileHandle, private readonly name: string, readonly hash: Hash, startBytes: number, private readonly sparse = false) {
    this.offsetBytes = startBytes;
    this.flushedBytes = startBytes;
    this.limitBytes = startBytes;
  }

  /** Append bytes (or route them into the open deflate rebuild). */
  async write(bytes: Uint8Array): Promise<void> {
    const d = this.deflating;
    if (d === undefined) return this.append(bytes);
    if (d.filled + bytes.length > d.rawSizeBytes) throw corrupt('writes more bytes into a deflate rebuild than it declared');
    d.filled += bytes.length;
    await this.appendDeflated(d, this.compressor.push(bytes));
    if (d.filled === d.rawSizeBytes) {
      this.deflating = undefined;
      await this.appendDeflated(d, this.compressor.end());
      if (d.producedBytes !== d.deflatedSizeBytes) {
        throw new OtaError('DELTA_CORRUPT', `rebuilt deflate stream has ${d.producedBytes} bytes, not ${d.deflatedSizeBytes}: the delta does not fit this base; make it again`);
      }
    }
  }

  // The compressor's output is a view into its buffer: written out (copied) before it runs again.
  private async appendDeflated(d: NonNullable<TargetWriter['deflating']>, packed: Uint8Array): Promise<void> {
    d.producedBytes += packed.length;
    if (d.producedBytes > d.deflatedSizeBytes) {
      throw new OtaError('DELTA_CORRUPT', `rebuilt deflate stream passes the ${d.deflatedSizeBytes} bytes it declared: the delta does not fit this base; make it again`);
    }
    await this.append(packed);
  }

  private async append(bytes: Uint8Array): Promise<void> {
    if (this.offsetBytes + bytes.length > this.limitBytes) throw overflow(this.limitBytes);
    let done = 0;
    while (done < bytes.length) {
      const n = Math.min(bytes.length - done, BUFFER_BYTES - this.buffered);
      this.buffer.set(bytes.subarray(done, done + n), this.buffered);
      this.buffered += n;
      done += n;
      if (this.buffered === BUFFER_BYTES) await this.flush();
    }
    this.offsetBytes += bytes.length;
  }

  /** Refuse (before reading or writing anything) `lengthBytes` more than the segment may write. */
  ensureRoom(lengthBytes: number): void {
    if (this.deflating === undefined && this.offsetBytes + lengthBytes > this.limitBytes) throw overflow(this.limitBytes);
  }

  /** Append `lengthBytes` zero bytes without allocating them. */
  async zeros(lengthBytes: number): Promise<void> {
    this.ensureRoom(lengthBytes);
    const zero = ZEROS;
    if (this.sparse && this.deflating === undefined && lengthBytes >= zero.length) {
      await this.flush();
      for (let left = lengthBytes; left > 0; left -= zero.length) this.hash.update(left >= zero.length ? zero : zero.subarray(0, left));
      this.offsetBytes += lengthBytes;
      this.flushedBytes += lengthBytes;
      return;
    }
    for (let left = lengthBytes; left > 0; left -= zero.length) await this.write(left >= zero.length ? zero : zero.subarray(0, left));
  }

  /** Open a deflate rebuild: the next `rawSizeBytes` bytes written are deflated with `params`. */
  beginDeflate(params: DeflateParams, rawSizeBytes: number, deflatedSizeBytes: number): void {
    if (this.deflating !== undefined) throw corrupt('opens a deflate rebuild inside another');
    if (rawSizeBytes === 0) throw corrupt('opens an empty deflate rebuild');
    this.compressor.begin(params.level);
    this.deflating = { rawSizeBytes, filled: 0, deflatedSizeBytes, producedBytes: 0 };
  }

  /** True while a deflate rebuild waits for bytes. */
  get inDeflate(): boolean { return this.deflating !== undefined; }

  /** Write out the buffer and fsync: after this, every accepted byte is durable. */
  async sync(): Promise<void> {
    await this.flush();
    try {
      // A trailing hole must still count as written: extend the file over it.
      if (this.sparse && (await this.fh.stat()).size < this.flushedBytes) await this.fh.truncate(this.flushedBytes);
      await this.fh.sync();
    } catch (err) {
      throw withContext(`target slot (${this.name}): fsync`, err, 'DELTA_TARGET_WRITE');
    }
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const chunk = this.buffer.subarray(0, this.buffered);
    const at = this.flushedBytes;
    try {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, done, chunk.length - done, at + done);
        done += bytesWritten;
      }
    } catch (err) {
      throw withContext(`target slot (${this.name}): write ${chunk.length} bytes at offset ${at}`, err, 'DELTA_TARGET_WRITE');
    }
    this.hash.update(chunk);
    this.flushedBytes += chunk.length;
    this.buffered = 0;
  }
}

function overflow(limitBytes: number): OtaError {
  return new OtaError('DELTA_OUTPUT_OVERFLOW', `delta writes past the end its header declares (at offset ${limitBytes}): the delta is corrupt; nothing was switched, download it again`);
}

function corrupt(detail: string): OtaError {
  return new OtaError('DELTA_CORRUPT', `delta ${detail}: the delta is corrupt; download it again`);
}

/** A fresh sha256 for the running target hash. */
export function newTargetHash(): Hash { return createHash('sha256'); }
