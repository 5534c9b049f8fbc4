/**
 * Where an artifact's bytes come from: a release directory on local media
 * (offline `install`) or mirrors over HTTP (the downloader, resumable). Either
 * way the consumer receives the artifact's signed segments in order, each one
 * checked against its sha256 before it is handed over.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { OtaError, withContext } from '../errors/index.js';
import { Download } from '../download/index.js';
import type { DownloadOptions } from '../download/index.js';
import type { Artifact } from '../formats/index.js';
import type { AgentConfig } from '../config/index.js';

/** Receives one verified segment: its offset in the artifact and its bytes. Resolves once they are durable. */
export type ArtifactConsumer = (offsetBytes: number, bytes: Buffer) => Promise<void>;

/** A source of release artifacts. */
export interface ArtifactSource {
  /** Where the source is, for messages. */
  readonly description: string;
  /** Hand the segments from `fromBytes` (a segment boundary) on to `consume`, in order. */
  fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal): Promise<void>;
  /** A local path of the whole artifact when the source has one (deltas are applied from a file). */
  localPath(artifact: Artifact): string | undefined;
}

/** The segments of `artifact` starting at `fromBytes`. */
function segmentsFrom(artifact: Artifact, fromBytes: number): Artifact['segments'] {
  return artifact.segments.filter((s) => s.offset >= fromBytes);
}

/** A release directory (`ota-fleet release --out DIR`) on local media. */
export class DirectorySource implements ArtifactSource {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `release directory ${dir}`;
  }

  localPath(artifact: Artifact): string {
    return join(this.dir, artifact.path);
  }

  async fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal): Promise<void> {
    const file = this.localPath(artifact);
    const fh = await fsp.open(file, 'r').catch((err: unknown) => { throw withContext(`artifact ${file}`, err, 'ARTIFACT_MISSING'); });
    try {
      for (const seg of segmentsFrom(artifact, fromBytes)) {
        signal.throwIfAborted();
        const bytes = Buffer.alloc(seg.sizeBytes);
        const { bytesRead } = await fh.read(bytes, 0, seg.sizeBytes, seg.offset);
        if (bytesRead !== seg.sizeBytes || createHash('sha256').update(bytes).digest('hex') !== seg.sha256) {
          throw new OtaError('ARTIFACT_CORRUPT', `artifact ${file}: segment at ${seg.offset} does not match its signed sha256: the copy is damaged; copy the release again`);
        }
        await consume(seg.offset, bytes);
      }
    } finally {
      await fh.close();
    }
  }
}

/** Mirrors over HTTP(S): the resumable downloader, its checkpoint under `stateDir`. */
export class HttpSource implements ArtifactSource {
  readonly description: string;

  constructor(private readonly baseUrls: readonly string[], private readonly stateDir: string,
    private readonly tune: Partial<Pick<DownloadOptions, 'backoff' | 'limits' | 'maxAttemptsPerMirror'>> = {}) {
    if (baseUrls.length === 0) throw new OtaError('CONFIG_INVALID', 'agent config: artifacts.urls is empty: give the URL the fleet serves release artifacts under');
    this.description = `artifact mirrors ${baseUrls.join(', ')}`;
  }

  localPath(): undefined {
    return undefined;
  }

  async fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal): Promise<void> {
    const urls = this.baseUrls.map((u) => new URL(artifact.path, u.endsWith('/') ? u : `${u}/`).toString());
    const stateDir = join(this.stateDir, artifact.sha256.slice(0, 16));
    await fsp.mkdir(stateDir, { recursive: true });
    const segments = artifact.segments.map((s) => ({ offsetBytes: s.offset, sizeBytes: s.sizeBytes, sha256: s.sha256 }));
    const download = new Download({
      plan: { urls, totalSizeBytes: artifact.sizeBytes, segments },
      stateDir, signal,
      onSegment: async (index, bytes) => {
        const seg = segments[index];
        // The downloader's own checkpoint may be behind ours after a crash: skip what is already durable.
        if (seg !== undefined && seg.offsetBytes >= fromBytes) await consume(seg.offsetBytes, bytes);
      },
      ...this.tune,
    });
    await download.run();
    await fsp.rm(stateDir, { recursive: true, force: true });
  }
}

/** No source: the config names no mirrors (an offline device); an interrupted `install` must be run again. */
export class NoSource implements ArtifactSource {
  readonly description = 'no artifact source';

  localPath(): undefined {
    return undefined;
  }

  fetch(artifact: Artifact): Promise<void> {
    return Promise.reject(new OtaError('ARTIFACT_SOURCE', `cannot fetch ${artifact.path}: the agent config has no artifacts.urls; run ota-agent install RELEASE_DIR again`));
  }
}

/** The artifact mirrors of the config; without any, an update can only come from `ota-agent install`. */
export function configuredSource(config: AgentConfig, spoolDir: string): ArtifactSource {
  return config.artifactUrls.length > 0 ? new HttpSource(config.artifactUrls, spoolDir) : new NoSource();
}
