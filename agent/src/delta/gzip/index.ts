/**
 * GNU gzip 1.12's deflate in TypeScript, for rebuilding gzip files bit-exactly
 * on the device: `GzipCompressor` (allocated once, reused for every file) writes
 * the raw deflate body `gzip -n -LEVEL` writes, or the whole member;
 * `gzipDeflate` and `gzipMember` are one-shot forms; `detectGzip` (fleet side,
 * or anywhere) finds the level and header that reproduce a given .gz file.
 */
export { GzipCompressor, gzipDeflate, gzipMember, GZIP_MIN_LEVEL, GZIP_MAX_LEVEL, type GzipMemberOptions } from './api.js';
export { detectGzip, DETECT_LEVELS, splitGzipMember, type DetectOptions, type GzipDetection, type GzipMemberParts } from './detect.js';
export { buildGzipHeader, gzipExtraFlags, parseGzipHeader, type GzipHeaderFields, type ParsedGzipHeader } from './header.js';
export { crc32 } from '../../checksum/index.js';
