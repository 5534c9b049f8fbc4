/**
 * An `.ota` bundle on local media as a source of release artifacts (the format: formats/bundle). Opening it
 * reads the notice and refuses a file whose size is not exactly what its release needs; each artifact is
 * read at its place and every segment checked against its signed sha256 before it is handed over.
 */
import { promises as fsp } from 'node:fs';
import { OtaError, withContext } from '../errors/index.js';
import { BUNDLE_PREFIX_BYTES, bundleLayout, bundleNoticeLength, checkBundleSize, looksLikeBundle, type BundleLayout } from '../formats/index.js';
import type { Artifact } from '../formats/index.js';
import { readVerified, type ArtifactConsumer, type LocalSource } from './artifacts.js';

const FIX = 'copy the bundle again';

/** A bundle file (`ota-fleet release --bundle FILE.ota`). */
export class BundleSource implements LocalSource {
  readonly description: string;

  private constructor(private readonly file: string, private readonly layout: BundleLayout) {
    this.description = `bundle ${file}`;
  }

  /** Open `file`: its notice, and the source of its artifacts. Refuses a file that is not a whole bundle. */
  static async open(file: string): Promise<{ notice: Uint8Array; source: BundleSource }> {
    const fh = await fsp.open(file, 'r').catch((err: unknown) => { throw withContext(`bundle ${file}`, err, 'RELEASE_MISSING'); });
    try {
      const prefix = Buffer.alloc(BUNDLE_PREFIX_BYTES);
      await fh.read(prefix, 0, prefix.length, 0);
      const notice = Buffer.alloc(bundleNoticeLength(prefix, `bundle ${file}`));
      const { bytesRead } = await fh.read(notice, 0, notice.length, BUNDLE_PREFIX_BYTES);
      if (bytesRead !== notice.length) throw new OtaError('BUNDLE_TRUNCATED', `bundle ${file}: ends inside its notice: the bundle is truncated; ${FIX}`);
      const layout = bundleLayout(notice, `bundle ${file}`);
      checkBundleSize(layout, (await fh.stat()).size, `bundle ${file}`);
      return { notice, source: new BundleSource(file, layout) };
    } finally {
      await fh.close();
    }
  }

  async fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal): Promise<void> {
    const placed = this.layout.artifacts.find((a) => a.artifact.path === artifact.path && a.artifact.sha256 === artifact.sha256);
    if (placed === undefined) throw new OtaError('ARTIFACT_MISSING', `bundle ${this.file}: holds no artifact ${artifact.path}: make the bundle from this release`);
    const fh = await fsp.open(this.file, 'r').catch((err: unknown) => { throw withContext(`bundle ${this.file}`, err, 'ARTIFACT_MISSING'); });
    try {
      await readVerified(fh, placed.offsetBytes, artifact, fromBytes, consume, signal, `bundle ${this.file}: artifact ${artifact.path}`, FIX);
    } finally {
      await fh.close();
    }
  }

  async verifyAll(artifacts: readonly Artifact[], signal: AbortSignal): Promise<void> {
    for (const artifact of artifacts) await this.fetch(artifact, 0, () => Promise.resolve(), signal);
  }
}

/** True when `file` is a regular file named `*.ota` or one that starts like a bundle (a damaged one is then refused as a bundle). */
export async function isBundleFile(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r').catch(() => undefined);
  if (fh === undefined) return false;
  try {
    if (!(await fh.stat()).isFile()) return false;
    if (file.endsWith('.ota')) return true;
    const prefix = Buffer.alloc(BUNDLE_PREFIX_BYTES);
    const { bytesRead } = await fh.read(prefix, 0, prefix.length, 0);
    return looksLikeBundle(prefix.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
