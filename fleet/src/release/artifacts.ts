/**
 * Artifacts of a release: a file copied into the release directory under its
 * content address while its sha256 and the sha256 of each segment are
 * computed, in one streaming pass with one buffer (any size, no 32-bit limit).
 * An image is cut into fixed segments; a delta is cut on its container's own
 * boundaries (segment 0 = the container header, segment k = container segment
 * k-1), so each verified download segment is one decodable delta segment and
 * the device streams it into the slot with no copy of the whole delta.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { withContext } from '../../../agent/src/errors/index.js';
import { fsyncDir } from '../../../agent/src/durable/index.js';
import { readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import type { ArtifactSegment, ImageDigest, JsonObject } from '../../../agent/src/formats/index.js';

/** Default segment size: 1 MiB, small enough to re-fetch cheaply on a flaky link. */
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024;

/** A hashed file: total size and sha256, and its segments. */
export interface HashedFile extends ImageDigest {
  readonly segments: readonly ArtifactSegment[];
}

/** How a file is cut: fixed segments of N bytes, or these sizes in order (they must cover the file exactly). */
export type SegmentCut = number | readonly number[];

function segmentSize(cut: SegmentCut, index: number): number {
  return typeof cut === 'number' ? cut : cut[index] ?? Number.MAX_SAFE_INTEGER;
}

/** The segment sizes of a delta container: its header, then each container segment's payload. */
export async function deltaSegmentSizes(path: string): Promise<number[]> {
  const header = await readDeltaFileHeader(path).catch((err: unknown) => {
    throw withContext(`release: --delta ${path} is read as an otadelta container (name another format with --delta-format)`, err);
  });
  return [header.headerSizeBytes, ...header.segments.map((s) => s.payloadSizeBytes)].filter((n) => n > 0);
}

/** Hash `src` in segments cut by `cut`, copying it to `dest` when given (fsynced); `onBytes` hears of each chunk read. */
export async function hashFile(src: string, cut: SegmentCut, dest?: string, onBytes?: (bytes: number) => void): Promise<HashedFile> {
  const input = await fsp.open(src, 'r').catch((err: unknown) => { throw withContext(`read ${src}`, err); });
  const output = dest === undefined ? undefined : await fsp.open(dest, 'w', 0o644);
  try {
    const largest = typeof cut === 'number' ? cut : Math.max(1, ...cut);
    const buf = Buffer.alloc(Math.min(largest, 4 * 1024 * 1024));
    const whole = createHash('sha256');
    const segments: ArtifactSegment[] = [];
    let offset = 0;
    let seg = createHash('sha256');
    let segStart = 0;
    for (;;) {
      const segmentBytes = segmentSize(cut, segments.length);
      const want = Math.min(buf.length, segStart + segmentBytes - offset);
      const { bytesRead } = await input.read(buf, 0, want, offset);
      if (bytesRead > 0) {
        const chunk = buf.subarray(0, bytesRead);
        whole.update(chunk);
        seg.update(chunk);
        if (output !== undefined) await output.write(chunk, 0, bytesRead, offset);
        offset += bytesRead;
        onBytes?.(bytesRead);
      }
      if (offset > segStart && (offset - segStart === segmentBytes || bytesRead === 0)) {
        segments.push({ offset: segStart, sizeBytes: offset - segStart, sha256: seg.digest('hex') });
        seg = createHash('sha256');
        segStart = offset;
      }
      if (bytesRead === 0) break;
    }
    if (output !== undefined) await output.sync();
    return { sizeBytes: offset, sha256: whole.digest('hex'), segments };
  } finally {
    await input.close();
    await output?.close();
  }
}

/** Copy `src` into `dir/targets/SHA256.EXT`; returns its hashes and its path relative to `dir`. */
export async function addArtifact(dir: string, src: string, ext: string, cut: SegmentCut, onBytes?: (bytes: number) => void): Promise<HashedFile & { path: string }> {
  const targets = join(dir, 'targets');
  await fsp.mkdir(targets, { recursive: true });
  const tmp = join(targets, `.incoming-${process.pid}`);
  try {
    const hashed = await hashFile(src, cut, tmp, onBytes);
    const path = `targets/${hashed.sha256}.${ext}`;
    await fsp.rename(tmp, join(dir, path));
    await fsyncDir(targets);
    return { ...hashed, path };
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw withContext(`add artifact ${src}`, err);
  }
}

/** The JSON of an artifact entry in release metadata. */
export function artifactJson(a: HashedFile & { path: string }, format: string): JsonObject {
  return {
    path: a.path, format, sizeBytes: a.sizeBytes, sha256: a.sha256,
    segments: a.segments.map((s) => ({ offset: s.offset, sizeBytes: s.sizeBytes, sha256: s.sha256 })),
  };
}
