/**
 * `ota-fleet release --bundle FILE.ota`: the release directory's notice and artifacts in one file, for
 * offline installs (`ota-agent install FILE.ota`). The layout is the agent's (formats/bundle): the notice,
 * then each artifact of the signed release in its order, nothing after. Written to a temp file beside
 * FILE, fsynced and renamed, so a reader never sees half a bundle.
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OtaError, withContext } from '../../../agent/src/errors/index.js';
import { fsyncDir } from '../../../agent/src/durable/index.js';
import { METADATA_LIMITS, bundleHeader, bundleLayout } from '../../../agent/src/formats/index.js';
import { readCapped } from '../../../agent/src/cli/index.js';

const CHUNK_BYTES = 1024 * 1024;

/** Write the bundle of the release in `dir` (its notice.json and targets) to `file`; returns its size. */
export async function writeBundle(dir: string, file: string): Promise<number> {
  const notice = await readCapped(join(dir, 'notice.json'), METADATA_LIMITS.maxBytes);
  const layout = bundleLayout(notice, `release ${dir}`);
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  try {
    const out = await fsp.open(tmp, 'w', 0o644);
    try {
      await out.write(bundleHeader(notice));
      for (const { artifact } of layout.artifacts) await copyWhole(join(dir, artifact.path), artifact.sizeBytes, out);
      await out.sync();
    } finally {
      await out.close();
    }
    await fsp.rename(tmp, file);
    await fsyncDir(dirname(file));
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw withContext(`bundle ${file}`, err, 'BUNDLE_WRITE');
  }
  return layout.totalBytes;
}

/** Refuse, before any long work, a bundle path whose directory is missing or where a file already is. */
export async function checkBundleTarget(file: string): Promise<void> {
  const dir = await fsp.stat(dirname(file)).catch(() => undefined);
  if (dir?.isDirectory() !== true) throw new OtaError('BUNDLE_WRITE', `--bundle ${file}: ${dirname(file)} is not a directory: create it or name another path`);
  if (await fsp.lstat(file).then(() => true, () => false)) throw new OtaError('RELEASE_EXISTS', `--bundle ${file}: already exists: name a new file`);
}

/** Append the file `path` to `out`; it must hold exactly `sizeBytes`, its signed size. */
async function copyWhole(path: string, sizeBytes: number, out: fsp.FileHandle): Promise<void> {
  const src = await fsp.open(path, 'r');
  try {
    const size = (await src.stat()).size;
    if (size !== sizeBytes) throw new OtaError('ARTIFACT_CORRUPT', `artifact ${path}: ${size} bytes, but the signed release says ${sizeBytes}: make the release again`);
    const chunk = Buffer.alloc(CHUNK_BYTES);
    for (let at = 0; at < sizeBytes;) {
      const { bytesRead } = await src.read(chunk, 0, Math.min(CHUNK_BYTES, sizeBytes - at), at);
      if (bytesRead === 0) throw new OtaError('ARTIFACT_CORRUPT', `artifact ${path}: ended at ${at} of ${sizeBytes} bytes while bundling: make the release again`);
      await out.write(chunk.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await src.close();
  }
}
