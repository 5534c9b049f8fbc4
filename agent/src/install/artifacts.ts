/**
 * Where an artifact's bytes come from: a release directory on local media
 * (offline `install`) or mirrors over HTTP (the downloader, resumable). Either
 * way the consumer receives the artifact's signed segments in order, each one
 * checked against its sha256 before it is handed over.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirDurable } from '../durable/index.js';
import { OtaError, errnoCode, withContext } from '../errors/index.js';
import { Download } from '../download/index.js';
import type { DownloadOptions } from '../download/index.js';
import type { Artifact } from '../formats/index.js';
import type { AgentConfig } from '../config/index.js';

/** Receives one verified segment: its offset in the artifact and its bytes. Resolves once they are durable. */
export type ArtifactConsumer = (offsetBytes: number, bytes: Buffer) => Promise<void>;

/** A source on local media, cheap to read twice: its artifacts are checked whole before an install writes anything. */
export interface LocalSource extends ArtifactSource {
  /** Check every artifact of `artifacts` the source holds against its signed segment hashes; refuses on the first bad one. */
  verifyAll(artifacts: readonly Artifact[], signal: AbortSignal): Promise<void>;
}

/** A source of release artifacts. */
export interface ArtifactSource {
  /** Where the source is, for messages. */
  readonly description: string;
  /**
   * Hand the segments from `fromBytes` (a segment boundary) on to `consume`, in order. A fresh download
   * over the network first waits a random time within `spreadWindowMs` (the signed rollout's spread).
   */
  fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal, spreadWindowMs?: number): Promise<void>;
}

/** The segments of `artifact` starting at `fromBytes`. */
function segmentsFrom(artifact: Artifact, fromBytes: number): Artifact['segments'] {
  return artifact.segments.filter((s) => s.offset >= fromBytes);
}

/** A release directory (`ota-fleet release --out DIR`) on local media. */
export class DirectorySource implements LocalSource {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `release directory ${dir}`;
  }

  async fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal): Promise<void> {
    const file = join(this.dir, artifact.path);
    const fh = await fsp.open(file, 'r').catch((err: unknown) => { throw withContext(`artifact ${file}`, err, 'ARTIFACT_MISSING'); });
    try {
      await readVerified(fh, 0, artifact, fromBytes, consume, signal, `artifact ${file}`, 'copy the release again');
    } finally {
      await fh.close();
    }
  }

  /** Check the artifacts present in the directory against their signed hashes (one missing is left to the install). */
  async verifyAll(artifacts: readonly Artifact[], signal: AbortSignal): Promise<void> {
    for (const artifact of artifacts) {
      const present = await fsp.stat(join(this.dir, artifact.path)).then(() => true, (err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return false;
        throw withContext(`artifact ${join(this.dir, artifact.path)}`, err, 'ARTIFACT_MISSING');
      });
      if (present) await this.fetch(artifact, 0, () => Promise.resolve(), signal);
    }
  }
}

/**
 * Hand `artifact`'s segments from `fromBytes` on to `consume`, read from `fh` where the artifact starts at
 * `baseBytes`, each one checked against its signed sha256 first. `where` and `fix` make the refusal's message.
 */
export async function readVerified(fh: FileHandle, baseBytes: number, artifact: Artifact, fromBytes: number, consume: ArtifactConsumer,
  signal: AbortSignal, where: string, fix: string): Promise<void> {
  for (const seg of segmentsFrom(artifact, fromBytes)) {
    signal.throwIfAborted();
    const bytes = Buffer.alloc(seg.sizeBytes);
    const { bytesRead } = await fh.read(bytes, 0, seg.sizeBytes, baseBytes + seg.offset);
    if (bytesRead !== seg.sizeBytes || createHash('sha256').update(bytes).digest('hex') !== seg.sha256) {
      throw new OtaError('ARTIFACT_CORRUPT', `${where}: segment at ${seg.offset} does not match its signed sha256: the copy is damaged; ${fix}`);
    }
    await consume(seg.offset, bytes);
  }
}

/** Mirrors over HTTP(S): the resumable downloader, its checkpoint under `stateDir`. */
export class HttpSource implements ArtifactSource {
  readonly description: string;

  constructor(private readonly baseUrls: readonly string[], private readonly stateDir: string,
    private readonly tune: Partial<Pick<DownloadOptions, 'backoff' | 'limits' | 'maxAttemptsPerMirror' | 'clock' | 'random'>> = {}) {
    if (baseUrls.length === 0) throw new OtaError('CONFIG_INVALID', 'agent config: artifacts.urls is empty: give the URL the fleet serves release artifacts under');
    this.description = `artifact mirrors ${baseUrls.join(', ')}`;
  }

  async fetch(artifact: Artifact, fromBytes: number, consume: ArtifactConsumer, signal: AbortSignal, spreadWindowMs = 0): Promise<void> {
    const stateDir = join(this.stateDir, artifact.sha256.slice(0, 16));
    // The downloader's checkpoint is never ahead of the consumer's unless the consumer started over
    // (or checkpoints less often): then it would skip segments the consumer still needs; drop it once.
    let reached = fromBytes;
    if (reached >= artifact.sizeBytes) return; // everything consumed already (a crash before the apply finished)
    for (let attempt = 0; ; attempt++) {
      reached = await this.run(artifact, reached, stateDir, consume, signal, attempt === 0 ? spreadWindowMs : 0);
      await fsp.rm(stateDir, { recursive: true, force: true });
      if (reached === artifact.sizeBytes) return;
      if (attempt > 0) throw new OtaError('ARTIFACT_GAP', `artifact ${artifact.path}: the download ended at ${reached} of ${artifact.sizeBytes} bytes: run the install again`);
    }
  }

  /** One download run; resolves to the artifact offset the consumer reached (short of the end: a stale download checkpoint). */
  private async run(artifact: Artifact, fromBytes: number, stateDir: string, consume: ArtifactConsumer, signal: AbortSignal, spreadWindowMs: number): Promise<number> {
    const urls = this.baseUrls.map((u) => new URL(artifact.path, u.endsWith('/') ? u : `${u}/`).toString());
    await mkdirDurable(stateDir);
    const segments = artifact.segments.map((s) => ({ offsetBytes: s.offset, sizeBytes: s.sizeBytes, sha256: s.sha256 }));
    let reached = fromBytes;
    const download = new Download({
      plan: { urls, totalSizeBytes: artifact.sizeBytes, segments, ...(spreadWindowMs > 0 ? { spreadWindowMs } : {}) },
      stateDir, signal,
      onSegment: async (index, bytes) => {
        const seg = segments[index];
        // The downloader's own checkpoint may be behind ours after a crash: skip what is already durable.
        if (seg === undefined || seg.offsetBytes + seg.sizeBytes <= reached) return;
        if (seg.offsetBytes !== reached) throw new StaleCheckpoint();
        await consume(seg.offsetBytes, bytes);
        reached = seg.offsetBytes + seg.sizeBytes;
      },
      ...this.tune,
    });
    try {
      await download.run();
    } catch (err) {
      if (!isStale(err)) throw err;
    }
    return reached;
  }
}

/** The downloader resumed past the consumer. */
class StaleCheckpoint extends Error {}

/** A StaleCheckpoint, possibly wrapped with context by the downloader. */
function isStale(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof StaleCheckpoint) return true;
  return false;
}

/** No source: the config names no mirrors (an offline device); an interrupted `install` must be run again. */
export class NoSource implements ArtifactSource {
  readonly description = 'no artifact source';

  fetch(artifact: Artifact): Promise<void> {
    return Promise.reject(new OtaError('ARTIFACT_SOURCE', `cannot fetch ${artifact.path}: the agent config has no artifacts.urls; run ota-agent install RELEASE_DIR again`));
  }
}

/** The artifact mirrors of the config; without any, an update can only come from `ota-agent install`. */
export function configuredSource(config: AgentConfig, spoolDir: string): ArtifactSource {
  return config.artifactUrls.length > 0 ? new HttpSource(config.artifactUrls, spoolDir) : new NoSource();
}
