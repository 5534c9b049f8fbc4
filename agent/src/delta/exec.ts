/**
 * The source of an executable-aware diff: an old file (base extents) read through
 * the ARM64 prediction of arm64.ts in its executable sections, so ADD ops apply to
 * old code whose PC-relative references already point where the new code's do.
 * Each 4-byte word is predicted from itself, its address and the map alone, so any
 * byte range reads in one pass over the words that overlap it (memory: one chunk).
 */
import { OtaError } from '../errors/index.js';
import type { ExecParams } from '../formats/index.js';
import { arm64PredictInContext } from './arm64.js';
import type { Source } from './source.js';

const CHUNK_BYTES = 64 * 1024;

/** `file` (an old file's extents) with every word of `params.sections` predicted. */
export class ExecSource implements Source {
  private readonly buffer = new Uint8Array(CHUNK_BYTES + 16);
  private readonly original = new Uint8Array(CHUNK_BYTES + 16);

  constructor(private readonly file: Source, private readonly params: ExecParams) {}

  get sizeBytes(): number { return this.file.sizeBytes; }

  async read(into: Uint8Array, offsetBytes: number): Promise<void> {
    if (offsetBytes + into.length > this.file.sizeBytes) {
      throw new OtaError('DELTA_CORRUPT', `delta op reads ${into.length} bytes at offset ${offsetBytes} of a ${this.file.sizeBytes}-byte source: the delta does not fit this base; make it again`);
    }
    for (let done = 0; done < into.length;) {
      const n = Math.min(CHUNK_BYTES, into.length - done);
      await this.chunk(into.subarray(done, done + n), offsetBytes + done);
      done += n;
    }
  }

  // Read the whole words around [at, at + into.length), predict those in sections, copy out.
  private async chunk(into: Uint8Array, at: number): Promise<void> {
    // One more word on each side: an ADRP pair's halves predict from each other.
    const lo = Math.max(0, at - (at % 4) - 4);
    const hi = Math.min(this.file.sizeBytes, at + into.length + 3 - ((at + into.length + 3) % 4) + 4);
    const words = this.buffer.subarray(0, hi - lo);
    await this.file.read(words, lo);
    predictWords(words, lo, this.params, this.original);
    into.set(words.subarray(at - lo, at - lo + into.length));
  }
}

/**
 * Predict, in place, the words of `bytes` (the old file's bytes from file offset `atBytes`, a multiple of 4)
 * that lie in `params.sections`; the words at both ends see no neighbour outside `bytes`, so a caller that
 * wants them exact reads one word more on each side. `scratch` (at least `bytes.length`) keeps the old words.
 */
export function predictWords(bytes: Uint8Array, atBytes: number, params: ExecParams, scratch = new Uint8Array(bytes.length)): void {
  const old = scratch.subarray(0, bytes.length);
  old.set(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const was = new DataView(old.buffer, old.byteOffset, old.byteLength);
  const end = atBytes + bytes.length;
  for (const s of params.sections) {
    const from = Math.max(atBytes, s.fileOffsetBytes);
    const to = Math.min(end, s.fileOffsetBytes + s.lengthBytes);
    const word = (o: number): number | undefined => (o >= from && o + 4 <= to ? was.getUint32(o - atBytes, true) : undefined);
    for (let o = from; o + 4 <= to; o += 4) {
      const pc = s.address + (o - s.fileOffsetBytes);
      view.setUint32(o - atBytes, arm64PredictInContext(was.getUint32(o - atBytes, true), pc, params.map, word(o - 4), word(o + 4)), true);
    }
  }
}
