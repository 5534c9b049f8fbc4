/**
 * Entry points of the gzip port: a reusable compressor for the raw deflate
 * body and whole members, and one-shot helpers on top of it.
 */
import { OtaError } from '../../errors/index.js';
import { BitWriter } from './bits.js';
import { crc32 } from '../../checksum/index.js';
import { Deflater, GZIP_MAX_LEVEL, GZIP_MIN_LEVEL } from './deflate.js';
import { buildGzipHeader, parseGzipHeader, type GzipHeaderFields } from './header.js';

export { GZIP_MAX_LEVEL, GZIP_MIN_LEVEL };

/** How to rebuild a gzip member. */
export interface GzipMemberOptions {
  /** gzip's -N, 1..9. */
  readonly level: number;
  /**
   * The header: the original header bytes verbatim (as `detectGzip` returns
   * them), or fields; by default what `gzip -n -N` writes.
   */
  readonly header?: Uint8Array | GzipHeaderFields;
}

/**
 * GNU gzip's deflate with its state allocated once (window, hash chains,
 * symbol buffers, trees, output buffer) and reset for every input, so a
 * device rebuilding hundreds of gzip files keeps flat memory. The results
 * are views into the compressor's output buffer, valid until its next call:
 * copy them to keep them.
 */
export class GzipCompressor {
  private readonly out = new BitWriter();
  private readonly deflater = new Deflater(this.out);

  /** The raw deflate stream `gzip -n -<level>` writes for `raw` (between its header and trailer). */
  deflate(raw: Uint8Array, level: number): Uint8Array {
    this.out.reset();
    this.deflater.run(raw, level);
    return this.out.view();
  }

  /**
   * Start streaming the raw deflate stream `gzip -n -<level>` writes: `push` the input in pieces,
   * then `end`. Each returns the compressed bytes completed meanwhile (a view, valid until the next
   * call: write it out or copy it); together they are what `deflate` returns for the whole input.
   */
  begin(level: number): void {
    this.out.reset();
    this.deflater.begin(level);
  }

  /** Feed input to the stream `begin` opened; returns the compressed bytes completed so far. */
  push(raw: Uint8Array): Uint8Array {
    this.deflater.push(raw);
    return this.out.take();
  }

  /** End the stream's input; returns the last compressed bytes. */
  end(): Uint8Array {
    this.deflater.finish();
    return this.out.take();
  }

  /** A whole gzip member for `raw`: header, gzip's deflate body, CRC-32 and ISIZE trailer. */
  member(raw: Uint8Array, options: GzipMemberOptions): Uint8Array {
    const header = headerBytes(options);
    this.out.reset();
    this.out.putBytes(header);
    this.deflater.run(raw, options.level);
    this.out.putUint32(crc32(raw));
    this.out.putUint32(raw.length >>> 0);
    return this.out.view();
  }
}

/** One-shot `GzipCompressor.deflate` (a fresh compressor; the result is a copy of its own). */
export function gzipDeflate(raw: Uint8Array, level: number): Uint8Array {
  return new GzipCompressor().deflate(raw, level).slice();
}

/** One-shot `GzipCompressor.member` (a fresh compressor; the result is a copy of its own). */
export function gzipMember(raw: Uint8Array, options: GzipMemberOptions): Uint8Array {
  return new GzipCompressor().member(raw, options).slice();
}

function headerBytes(options: GzipMemberOptions): Uint8Array {
  const { header, level } = options;
  if (!(header instanceof Uint8Array)) return buildGzipHeader(header ?? {}, level);
  const parsed = parseGzipHeader(header);
  if (parsed === undefined || parsed.sizeBytes !== header.length) {
    throw new OtaError('GZIP_HEADER_INVALID',
      `gzip rebuild: the ${header.length} header bytes given are not exactly one gzip header; pass the bytes detectGzip returned`);
  }
  return header;
}
