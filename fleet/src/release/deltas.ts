/**
 * The deltas of a release: files made beforehand (`--delta FILE@BASE`, any
 * format) and deltas made here by the encoder, in-process, from each base image
 * given with `--from OLD.img`. Either way a delta is copied into the release's
 * targets and, as an otadelta, cut on its container's segment boundaries. Bases
 * are checked before anything is written: each must exist, no two deltas
 * may start from the same base (a device could not tell which one to fetch),
 * and an otadelta given ready-made must have been made between the named base
 * and the release image (its header names both by size and sha256).
 */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { OtaError, errnoCode, withContext } from '../../../agent/src/errors/index.js';
import { deltaArtifactFormat, isDeltaArtifactFormat, type JsonObject } from '../../../agent/src/formats/index.js';
import { readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import { encodeDelta } from '../delta/index.js';
import { addArtifact, artifactJson, deltaSegmentSizes, hashFile, type HashedFile } from './artifacts.js';
import type { Progress } from './progress.js';

/** The format name `--delta-format` takes for an otadelta container, whatever its version (the release names the version it needs). */
const OTADELTA = 'otadelta';

/** A delta to add: a file given with --delta, or one to make from a base given with --from. */
export type DeltaSource =
  | { readonly kind: 'file'; readonly file: string; readonly base: string; readonly format: string }
  | { readonly kind: 'from'; readonly base: string };

/** A source whose base image is hashed. */
interface Planned { readonly source: DeltaSource; readonly base: HashedFile }

function flag(s: DeltaSource): string {
  return s.kind === 'file' ? `--delta ${s.file}@${s.base}` : `--from ${s.base}`;
}

/** Size of a file, or a clear error naming the flag that gave it. */
async function sizeOf(path: string, what: string): Promise<number> {
  try {
    return (await fsp.stat(path)).size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new OtaError('RELEASE_INPUT_MISSING', `release: ${what}: no such file: name an existing image (a base is the image devices run now)`);
    throw withContext(`release: ${what}`, err);
  }
}

/**
 * Check every base (and --delta file) exists, hash the bases, refuse two deltas from the same base, and
 * refuse an otadelta made for other images than its named base and `imagePath` (DELTA_MISMATCH). Writes nothing.
 */
export async function planDeltas(sources: readonly DeltaSource[], segmentBytes: number, progress: Progress, imagePath: string): Promise<Planned[]> {
  for (const s of sources) {
    await sizeOf(s.base, flag(s));
    if (s.kind === 'file') await sizeOf(s.file, flag(s));
  }
  const made = await madeBetween(sources);
  const planned: Planned[] = [];
  for (const s of sources) {
    progress.start(`hashing base ${basename(s.base)}`, await sizeOf(s.base, flag(s)));
    const base = await hashFile(s.base, segmentBytes, undefined, (n) => progress.advance(n));
    progress.done(`sha256 ${base.sha256.slice(0, 12)}`);
    const twin = planned.find((p) => p.base.sha256 === base.sha256);
    if (twin !== undefined) {
      throw new OtaError('USAGE', `release: ${flag(twin.source)} and ${flag(s)} are deltas from the same base image (sha256 ${base.sha256}): give one of them`);
    }
    const ends = made.get(s);
    if (ends !== undefined) mismatch(s, 'was made from base', ends.base, base, s.base);
    planned.push({ source: s, base });
  }
  if (made.size > 0) {
    progress.start(`hashing image ${basename(imagePath)} (the target of --delta)`, await sizeOf(imagePath, '--image'));
    const image = await hashFile(imagePath, segmentBytes, undefined, (n) => progress.advance(n));
    progress.done(`sha256 ${image.sha256.slice(0, 12)}`);
    for (const [s, ends] of made) mismatch(s, 'makes the image', ends.target, image, `--image ${imagePath}`);
  }
  return planned;
}

/** Size and sha256 (hex) of an image. */
interface ImageId { readonly sizeBytes: number; readonly sha256: string }

/** The base and target each otadelta given with --delta names in its header (a full image there is refused). */
async function madeBetween(sources: readonly DeltaSource[]): Promise<Map<DeltaSource, { base: ImageId; target: ImageId }>> {
  const made = new Map<DeltaSource, { base: ImageId; target: ImageId }>();
  for (const s of sources) {
    if (s.kind !== 'file' || (s.format !== OTADELTA && !isDeltaArtifactFormat(s.format))) continue;
    const h = await readDeltaFileHeader(s.file).catch((err: unknown) => {
      throw withContext(`release: ${flag(s)} is read as an otadelta container (name another format with --delta-format)`, err);
    });
    if (h.full) throw new OtaError('DELTA_MISMATCH', `release: ${flag(s)}: ${s.file} is a full image (no base), not a delta: give a delta made with ota-fleet delta make --from BASE --to IMAGE`);
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    made.set(s, { base: { sizeBytes: h.baseSizeBytes, sha256: hex(h.baseSha256) }, target: { sizeBytes: h.targetSizeBytes, sha256: hex(h.targetSha256) } });
  }
  return made;
}

/** DELTA_MISMATCH unless the image the delta's header names is `actual`. */
function mismatch(s: DeltaSource, what: string, named: ImageId, actual: ImageId, file: string): void {
  if (named.sha256 === actual.sha256 && named.sizeBytes === actual.sizeBytes) return;
  throw new OtaError('DELTA_MISMATCH', `release: ${flag(s)}: the delta ${what} sha256 ${named.sha256} (${named.sizeBytes} bytes), but ${file} is sha256 ${actual.sha256} (${actual.sizeBytes} bytes): make the delta between the base devices run and this --image (ota-fleet delta make --from BASE --to IMAGE), or name its real base`);
}

/** Add the planned deltas to the release in `out`, making those from --from with the encoder; returns their release entries. */
export async function addDeltas(out: string, imagePath: string, planned: readonly Planned[], segmentBytes: number, progress: Progress): Promise<JsonObject[]> {
  const image = planned.some((p) => p.source.kind === 'from') ? await readImage(imagePath, '--image') : undefined;
  const entries: JsonObject[] = [];
  for (const [k, p] of planned.entries()) {
    const s = p.source;
    const entry = s.kind === 'file'
      ? await addDeltaFile(out, s.file, s.format, segmentBytes, `hashing delta ${basename(s.file)}`, progress)
      : await makeDelta(out, s.base, image ?? new Uint8Array(), `delta ${k + 1}/${planned.length} from ${basename(s.base)}`, progress);
    entries.push({ ...entry, base: { sizeBytes: p.base.sizeBytes, sha256: p.base.sha256 } });
  }
  return entries;
}

async function readImage(path: string, what: string): Promise<Buffer> {
  return fsp.readFile(path).catch((err: unknown) => { throw withContext(`release: read ${what} ${path}`, err); });
}

/** Copy a delta file into the release; an otadelta is cut on its container's boundaries, another format in fixed segments. */
async function addDeltaFile(out: string, file: string, format: string, segmentBytes: number, label: string, progress: Progress, ext = 'delta'): Promise<JsonObject> {
  const otadelta = format === OTADELTA || isDeltaArtifactFormat(format);
  const cut = otadelta ? await deltaSegmentSizes(file) : segmentBytes;
  // an otadelta is named by the container version it needs, so an agent that cannot read it takes the full image
  const named = otadelta ? deltaArtifactFormat((await readDeltaFileHeader(file)).formatVersion) : format;
  progress.start(label, await sizeOf(file, `--delta ${file}`));
  const art = await addArtifact(out, file, ext, cut, (n) => progress.advance(n));
  progress.done(`${art.sizeBytes} bytes in ${art.segments.length} segments`);
  return artifactJson(art, named);
}

/** Make the delta from `basePath` to `image` with the encoder, then add it as --delta would. */
async function makeDelta(out: string, basePath: string, image: Uint8Array, name: string, progress: Progress): Promise<JsonObject> {
  return encodeAndAdd(out, await readImage(basePath, '--from'), image, name, progress, 'delta');
}

/**
 * The release's full image, compressed: an otadelta with no base (zero runs, and literals
 * brotli-coded per segment with a 4 MiB window), cut on its container's boundaries like a
 * delta, so the device verifies, streams and resumes it as it does a delta and never reads
 * its booted slot for it. Agents since the first otadelta apply it (a base-less container).
 */
export async function addCompressedImage(out: string, imagePath: string, progress: Progress): Promise<JsonObject> {
  return encodeAndAdd(out, undefined, await readImage(imagePath, '--image'), 'compressed full image', progress, 'img.otadelta', FULL_IMAGE_BROTLI_QUALITY);
}

/**
 * Brotli quality of the compressed full image. Quality 11 (the deltas') coded 16 MiB of arm64/x86 binaries
 * to 26.7 % in 98 s here, quality 9 to 29.8 % in 5.8 s: 17 times faster for 12 % more bytes on a path
 * devices take only when their base drifted (or had no delta), where a 1 GiB root at quality 11 would take
 * the vendor's release job about an hour.
 */
const FULL_IMAGE_BROTLI_QUALITY = 9;

/** Encode `image` from `old` (undefined: a full image), then add the container as --delta would. */
async function encodeAndAdd(out: string, old: Uint8Array | undefined, image: Uint8Array, name: string, progress: Progress, ext: string, brotliQuality?: number): Promise<JsonObject> {
  // The encoder works in one synchronous call and reports the bytes of the image it has done (a terminal write is synchronous).
  progress.start(`making ${name}`, image.length);
  let doneBytes = 0;
  const onProgress = (n: number): void => { progress.advance(n - doneBytes); doneBytes = n; };
  const { delta, stats } = encodeDelta(old, image, { onProgress, ...(brotliQuality === undefined ? {} : { brotliQuality }) });
  progress.done(`${delta.byteLength} bytes in ${stats.segments} segments`);
  const tmp = join(out, `.delta-${process.pid}`);
  try {
    await fsp.writeFile(tmp, delta);
    return await addDeltaFile(out, tmp, OTADELTA, 0, `hashing ${name}`, progress, ext);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
