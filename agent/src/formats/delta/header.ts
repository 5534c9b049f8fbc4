/**
 * The delta container header: what the delta rebuilds (target sha256 and size),
 * from what (base sha256 and size), and the table of segments, each with its
 * own sha256 so a device verifies a segment before a byte of it reaches the slot.
 *
 * Layout (all integers big-endian):
 *   0  magic "OTADELTA"            8
 *   8  format version (u32)        4
 *  12  flags (u32, bit 0 = full)   4
 *  16  segment count (u32)         4
 *  20  base size (u64)             8
 *  28  base sha256                32
 *  60  target size (u64)           8
 *  68  target sha256              32
 * 100  segment table: per segment payload size (u32), output size (u64), sha256 (32)
 *  ..  sha256 of every header byte before it (32)
 * The segment payloads follow the header, in order.
 */
import { createHash } from 'node:crypto';
import { OtaError } from '../../errors/index.js';

/** The container magic. */
export const DELTA_MAGIC = 'OTADELTA';
/**
 * The newest format version this code reads and writes: 2 adds the exec source (segment.ts), 3 gzip
 * rebuilds and sources past DELTA_MAX_DEFLATE_BYTES (streamed by the decoder). A delta is written
 * with the oldest version that has what it uses, so older agents read every delta they can apply.
 */
export const DELTA_FORMAT_VERSION = 3;
/** The version of a delta with an exec source and no gzip member past DELTA_MAX_DEFLATE_BYTES. */
export const DELTA_FORMAT_VERSION_EXEC = 2;
/** The version of a delta that uses nothing newer than version 1 has. */
export const DELTA_FORMAT_VERSION_BASE = 1;
/**
 * The artifact format names (a release's `format`) of an otadelta container, by the newest container
 * version the artifact needs: `otadelta` is version 1, `otadelta-N` version N. The name tells an agent
 * before it downloads a byte whether it can apply the delta: one that cannot takes the full image instead
 * (device/payload.ts) rather than failing the update at the header. (An `otadelta` whose header says 2, as
 * fleets wrote before the names split, is still read.)
 */
export const DELTA_ARTIFACT_FORMATS: Readonly<Record<string, number>> = { otadelta: 1, 'otadelta-2': 2, 'otadelta-3': 3 };

/** The artifact format name of a container of `formatVersion`. */
export function deltaArtifactFormat(formatVersion: number): string {
  return formatVersion <= DELTA_FORMAT_VERSION_BASE ? 'otadelta' : `otadelta-${formatVersion}`;
}

/** True when this code applies artifacts of format `format` as otadelta containers. */
export function isDeltaArtifactFormat(format: string): boolean {
  return Object.prototype.hasOwnProperty.call(DELTA_ARTIFACT_FORMATS, format);
}

/** Flag: a full image (no base is read; the container holds no copy instructions). */
export const DELTA_FLAG_FULL = 1;
/** Size of the fixed part of the header. */
export const DELTA_FIXED_HEADER_BYTES = 100;
/** Size of one segment table entry. */
export const DELTA_SEGMENT_ENTRY_BYTES = 44;
/** Most segments one delta may have (a 1 TiB image at 64 MiB a segment fits easily). */
export const DELTA_MAX_SEGMENTS = 1 << 20;
/** Largest payload one segment may have (compressed). */
export const DELTA_MAX_SEGMENT_PAYLOAD_BYTES = 8 * 1024 * 1024;

/** One segment of the delta, as the header lists it. */
export interface DeltaSegmentEntry {
  /** Size of the segment's payload in the container (compressed). */
  readonly payloadSizeBytes: number;
  /** Bytes of target image the segment writes. */
  readonly outputSizeBytes: number;
  /** sha256 of the payload. */
  readonly sha256: Uint8Array;
}

/** The parsed delta header. */
export interface DeltaHeader {
  readonly formatVersion: number;
  /** True for a full image: no base is read. */
  readonly full: boolean;
  readonly baseSizeBytes: number;
  readonly baseSha256: Uint8Array;
  readonly targetSizeBytes: number;
  readonly targetSha256: Uint8Array;
  readonly segments: readonly DeltaSegmentEntry[];
  /** sha256 of the whole header (the last 32 bytes of it): what signed metadata names. */
  readonly headerSha256: Uint8Array;
  /** Size of the encoded header; segment payloads start here. */
  readonly headerSizeBytes: number;
}

/** The header size for `segmentCount` segments. */
export function deltaHeaderSizeBytes(segmentCount: number): number {
  return DELTA_FIXED_HEADER_BYTES + segmentCount * DELTA_SEGMENT_ENTRY_BYTES + 32;
}

/** The number of segments a header declares, from its first 20 bytes (to know how much more to read). */
export function peekSegmentCount(prefix: Uint8Array): number {
  if (prefix.length < 20) throw corrupt('is shorter than its fixed header');
  checkMagicAndVersion(prefix);
  const count = view(prefix).getUint32(16);
  if (count > DELTA_MAX_SEGMENTS) throw corrupt(`declares ${count} segments (at most ${DELTA_MAX_SEGMENTS})`);
  return count;
}

/** Encode a header; `headerSha256` and `headerSizeBytes` are computed. */
export function encodeDeltaHeader(h: Omit<DeltaHeader, 'headerSha256' | 'headerSizeBytes' | 'formatVersion'> & { readonly formatVersion?: number }): Uint8Array {
  const size = deltaHeaderSizeBytes(h.segments.length);
  const out = new Uint8Array(size);
  const dv = view(out);
  out.set(Buffer.from(DELTA_MAGIC, 'ascii'), 0);
  dv.setUint32(8, h.formatVersion ?? DELTA_FORMAT_VERSION_BASE);
  dv.setUint32(12, h.full ? DELTA_FLAG_FULL : 0);
  dv.setUint32(16, h.segments.length);
  dv.setBigUint64(20, BigInt(h.baseSizeBytes));
  out.set(checkHash(h.baseSha256), 28);
  dv.setBigUint64(60, BigInt(h.targetSizeBytes));
  out.set(checkHash(h.targetSha256), 68);
  h.segments.forEach((s, i) => {
    const at = DELTA_FIXED_HEADER_BYTES + i * DELTA_SEGMENT_ENTRY_BYTES;
    dv.setUint32(at, s.payloadSizeBytes);
    dv.setBigUint64(at + 4, BigInt(s.outputSizeBytes));
    out.set(checkHash(s.sha256), at + 12);
  });
  out.set(sha256(out.subarray(0, size - 32)), size - 32);
  return out;
}

/** Parse and verify a header (`bytes` may continue past it). Any inconsistency is DELTA_CORRUPT. */
export function parseDeltaHeader(bytes: Uint8Array): DeltaHeader {
  const count = peekSegmentCount(bytes);
  const size = deltaHeaderSizeBytes(count);
  if (bytes.length < size) throw corrupt(`is truncated inside its header (${bytes.length} of ${size} bytes)`);
  const headerSha256 = bytes.slice(size - 32, size);
  if (!equalBytes(sha256(bytes.subarray(0, size - 32)), headerSha256)) throw corrupt('header does not match its sha256');
  const dv = view(bytes);
  const flags = dv.getUint32(12);
  if ((flags & ~DELTA_FLAG_FULL) !== 0) throw corrupt(`has unknown flags 0x${flags.toString(16)}`);
  const segments: DeltaSegmentEntry[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = DELTA_FIXED_HEADER_BYTES + i * DELTA_SEGMENT_ENTRY_BYTES;
    const entry = { payloadSizeBytes: dv.getUint32(at), outputSizeBytes: u64(dv, at + 4), sha256: bytes.slice(at + 12, at + 44) };
    if (entry.payloadSizeBytes > DELTA_MAX_SEGMENT_PAYLOAD_BYTES) throw corrupt(`segment ${i} payload is ${entry.payloadSizeBytes} bytes (at most ${DELTA_MAX_SEGMENT_PAYLOAD_BYTES})`);
    total += entry.outputSizeBytes;
    segments.push(entry);
  }
  const header: DeltaHeader = {
    formatVersion: dv.getUint32(8), full: (flags & DELTA_FLAG_FULL) !== 0,
    baseSizeBytes: u64(dv, 20), baseSha256: bytes.slice(28, 60),
    targetSizeBytes: u64(dv, 60), targetSha256: bytes.slice(68, 100),
    segments, headerSha256, headerSizeBytes: size,
  };
  if (total !== header.targetSizeBytes) throw corrupt(`segments write ${total} bytes but the target is ${header.targetSizeBytes}`);
  return header;
}

/** Total container size the header implies (header plus every payload). */
export function deltaContainerSizeBytes(h: DeltaHeader): number {
  return h.segments.reduce((sum, s) => sum + s.payloadSizeBytes, h.headerSizeBytes);
}

/** sha256 of bytes. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** Constant-length byte comparison. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function checkMagicAndVersion(prefix: Uint8Array): void {
  if (Buffer.from(prefix.subarray(0, 8)).toString('latin1') !== DELTA_MAGIC) throw corrupt('does not start with the OTADELTA magic: not a delta file');
  const version = view(prefix).getUint32(8);
  if (version < DELTA_FORMAT_VERSION_BASE || version > DELTA_FORMAT_VERSION) {
    throw new OtaError('DELTA_VERSION', `delta format version ${version} is not supported (this agent reads version ${DELTA_FORMAT_VERSION}): update the agent first`);
  }
}

function u64(dv: DataView, at: number): number {
  const v = dv.getBigUint64(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`has a size of ${v} bytes at offset ${at}`);
  return Number(v);
}

function checkHash(h: Uint8Array): Uint8Array {
  if (h.length !== 32) throw new RangeError(`a sha256 has 32 bytes, not ${h.length}`);
  return h;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function corrupt(detail: string): OtaError {
  return new OtaError('DELTA_CORRUPT', `delta ${detail}: the delta is corrupt or not a delta; download it again`);
}
