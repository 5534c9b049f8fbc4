/**
 * The `.ota` single-file release (docs/bundle.md): the signed notice first, then the release's artifacts,
 * each exactly as signed, in the release's order (the full image, then each delta), with nothing between and
 * nothing after:
 *
 *   "OTABNDL1" (8 bytes) | notice length (u32 big-endian) | notice bytes | image | delta 1 | ... | delta n
 *
 * No index: where each artifact starts follows from the signed sizes, so the notice is the only thing a
 * reader trusts, and only once verified; every artifact byte is then checked against the signed segment
 * hashes. A reader that streams verifies the notice before the first artifact byte, as RAUC checks a
 * bundle's signature and SWUpdate its sw-description first. The file's size must be exactly the sum, so a
 * truncated file or one with trailing bytes is refused before anything is read past the notice.
 */
import { OtaError } from '../../errors/index.js';
import { METADATA_LIMITS, readNotice, readRelease, releaseArtifacts, type Artifact } from '../metadata/index.js';

/** The first bytes of every bundle. */
export const BUNDLE_MAGIC = Buffer.from('OTABNDL1', 'latin1');
/** Bytes before the notice: the magic and the notice's length. */
export const BUNDLE_PREFIX_BYTES = BUNDLE_MAGIC.length + 4;

/** One artifact's place in a bundle. */
export interface BundledArtifact {
  readonly artifact: Artifact;
  readonly offsetBytes: number;
}

/** Where everything is in a bundle whose notice is `notice`. */
export interface BundleLayout {
  readonly artifacts: readonly BundledArtifact[];
  /** The exact size of the whole file. */
  readonly totalBytes: number;
}

/** The bytes before the first artifact: magic, length, notice. */
export function bundleHeader(notice: Uint8Array): Buffer {
  if (notice.byteLength > METADATA_LIMITS.maxBytes) throw new OtaError('BUNDLE_INVALID', `bundle: the notice is ${notice.byteLength} bytes, more than ${METADATA_LIMITS.maxBytes}`);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(notice.byteLength);
  return Buffer.concat([BUNDLE_MAGIC, length, notice]);
}

/** The notice's length from a bundle's first BUNDLE_PREFIX_BYTES bytes; refuses what is not a bundle. */
export function bundleNoticeLength(prefix: Uint8Array, where: string): number {
  const b = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (b.byteLength < BUNDLE_PREFIX_BYTES || !b.subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC)) {
    throw new OtaError('BUNDLE_INVALID', `${where}: not an .ota bundle (it does not start with ${BUNDLE_MAGIC.toString('latin1')}): make it with ota-fleet release --bundle`);
  }
  const length = b.readUInt32BE(BUNDLE_MAGIC.length);
  if (length === 0 || length > METADATA_LIMITS.maxBytes) {
    throw new OtaError('BUNDLE_INVALID', `${where}: the notice length ${length} is out of range (1..${METADATA_LIMITS.maxBytes}): the bundle is damaged; copy it again`);
  }
  return length;
}

/** True when `prefix` starts like a bundle (for a source that may be a bundle or a release directory's file). */
export function looksLikeBundle(prefix: Uint8Array): boolean {
  return Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength).subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC);
}

/**
 * Where each artifact of the notice's release lies. Reads the notice's shape only: the caller verifies its
 * signatures before using an artifact byte, and every byte against its segment hash.
 */
export function bundleLayout(notice: Uint8Array, where: string): BundleLayout {
  const release = readRelease(readNotice(notice, METADATA_LIMITS, `${where}: notice`).release, `${where}: notice.release`);
  let offsetBytes = BUNDLE_PREFIX_BYTES + notice.byteLength;
  const artifacts = releaseArtifacts(release).map((artifact) => {
    const placed = { artifact, offsetBytes };
    offsetBytes += artifact.sizeBytes;
    return placed;
  });
  return { artifacts, totalBytes: offsetBytes };
}

/** Refuse a bundle whose size is not exactly its layout's. */
export function checkBundleSize(layout: BundleLayout, sizeBytes: number, where: string): void {
  if (sizeBytes < layout.totalBytes) {
    throw new OtaError('BUNDLE_TRUNCATED', `${where}: ${sizeBytes} bytes, but its release needs ${layout.totalBytes}: the bundle is truncated; copy it again`);
  }
  if (sizeBytes > layout.totalBytes) {
    throw new OtaError('BUNDLE_TRAILING_DATA', `${where}: ${sizeBytes - layout.totalBytes} bytes after the last artifact (the release needs ${layout.totalBytes}): the bundle is damaged or not as made; copy it again`);
  }
}
