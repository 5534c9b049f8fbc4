/**
 * Hashing helpers of the apply: the whole base before anything is written, and
 * a prefix of the target (on resume, and the read-back check at the end).
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { OtaError, withContext } from '../errors/index.js';
import type { BaseReader } from './source.js';

/** sha256 of every byte of the base, read through `chunk` (the applier's one scratch buffer: memory stays flat). */
export async function hashReader(base: BaseReader, name: string, chunk: Buffer, signal?: AbortSignal): Promise<Uint8Array> {
  const hash = createHash('sha256');
  for (let at = 0; at < base.sizeBytes; at += chunk.length) {
    signal?.throwIfAborted();
    const want = Math.min(chunk.length, base.sizeBytes - at);
    let n: number;
    try {
      n = await base.read(chunk.subarray(0, want), at);
    } catch (err) {
      throw withContext(`base image (${name}): read at offset ${at}`, err, 'DELTA_BASE_READ');
    }
    if (n !== want) throw new OtaError('DELTA_BASE_READ', `base image (${name}): short read at offset ${at}: the base is smaller than it claims; check the slot`);
    hash.update(chunk.subarray(0, n));
  }
  return hash.digest();
}

/** Feed the first `lengthBytes` of the target into `hash`, read through `chunk`. */
export async function hashTargetPrefix(fh: FileHandle, name: string, lengthBytes: number, hash: Hash, chunk: Buffer, signal?: AbortSignal): Promise<void> {
  for (let at = 0; at < lengthBytes;) {
    signal?.throwIfAborted();
    const want = Math.min(chunk.length, lengthBytes - at);
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(chunk, 0, want, at));
    } catch (err) {
      throw withContext(`target slot (${name}): read back at offset ${at}`, err, 'DELTA_TARGET_READ');
    }
    if (n === 0) throw new OtaError('DELTA_TARGET_READ', `target slot (${name}) ends at ${at} bytes, before the ${lengthBytes} written: the slot is too small or was changed; apply the update again`);
    hash.update(chunk.subarray(0, n));
    at += n;
  }
}
