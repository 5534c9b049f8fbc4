/**
 * Entry points of the gzip port: the raw deflate body and the whole member.
 */
import { OtaError } from '../../errors/index.js';
import { crc32 } from './crc32.js';
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

/** The raw deflate stream `gzip -n -<level>` writes for `raw` (between its header and trailer). */
export function gzipDeflate(raw: Uint8Array, level: number): Uint8Array {
  return new Deflater(raw, level).run();
}

/** A whole gzip member for `raw`: header, gzip's deflate body, CRC-32 and ISIZE trailer. */
export function gzipMember(raw: Uint8Array, options: GzipMemberOptions): Uint8Array {
  const header = headerBytes(options);
  const body = gzipDeflate(raw, options.level);
  const member = new Uint8Array(header.length + body.length + 8);
  member.set(header, 0);
  member.set(body, header.length);
  const view = new DataView(member.buffer, member.byteOffset, member.byteLength);
  view.setUint32(header.length + body.length, crc32(raw), true);
  view.setUint32(header.length + body.length + 4, raw.length >>> 0, true);
  return member;
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
