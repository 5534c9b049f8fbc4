/**
 * Publishing a release: make sure every artifact is where the devices will
 * fetch it (optionally copying it into the directory an artifact server serves,
 * then checking it over HTTP with a one-byte Range request), then publish the
 * signed notice retained on each hardware's rollout topic, or to named devices.
 * With a served directory, the notice also goes to `<dir>/rollout/<hardware>.json`,
 * where devices resync it over HTTPS after every reconnect (brokers lose retained messages).
 * Mirror URLs live in the device config (`artifacts.urls`), not in the notice:
 * the notice carries signed relative paths only, so moving artifacts to another
 * CDN never needs a re-signature.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import fetch from 'node-fetch';
import type { MqttClient } from 'mqtt';
import { OtaError, describe, withContext } from '../../../agent/src/errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import { DEFAULT_CHANNEL, readNotice, readRelease, readRollout, readSignedFile, releaseArtifacts, type Artifact, type ReleaseMetadata } from '../../../agent/src/formats/index.js';
import { rolloutDocumentPath, rolloutTopic, topicsFor } from '../../../agent/src/transport/index.js';

/** A release directory's signed release and notice. */
export interface ReleaseFiles {
  readonly release: ReleaseMetadata;
  readonly notice: Uint8Array;
}

/** Read DIR/release.json and DIR/notice.json (the notice must be well formed). */
export async function readReleaseDir(dir: string): Promise<ReleaseFiles> {
  const file = join(dir, 'release.json');
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new OtaError('RELEASE_MISSING', `${file} not found: make the release with ota-fleet release first`);
  const notice = await readFileIfExists(join(dir, 'notice.json'));
  if (notice === undefined) throw new OtaError('RELEASE_MISSING', `${join(dir, 'notice.json')} not found: sign a rollout with ota-fleet rollout --release ${dir}`);
  readNotice(notice);
  return { release: readRelease(readSignedFile(bytes, file), file), notice };
}

/**
 * Every artifact of a release (full image, deltas, the /etc manifest a device with the /etc overlay
 * fetches before it installs): the formats' own list, so a new kind of artifact is copied and checked too.
 */
export function artifactsOf(release: ReleaseMetadata): Artifact[] {
  return releaseArtifacts(release);
}

/** What a copy reports as it goes (release's `Progress`: a bar on a terminal, a line per tenth elsewhere). */
export interface CopyProgress {
  start(label: string, totalBytes: number): void;
  advance(bytes: number): void;
  done(result: string): void;
}

/** Copy the artifacts into `root` (what an artifact server serves), skipping those already there at the right size. */
export async function copyArtifacts(releaseDir: string, release: ReleaseMetadata, root: string, progress?: CopyProgress): Promise<number> {
  let copied = 0;
  for (const a of artifactsOf(release)) {
    const to = join(root, a.path);
    const st = await fsp.stat(to).catch(() => undefined);
    if (st?.size === a.sizeBytes) continue;
    await fsp.mkdir(dirname(to), { recursive: true });
    const tmp = `${to}.tmp-${process.pid}`;
    progress?.start(`copy ${a.path}`, a.sizeBytes);
    try {
      await pipeline(createReadStream(join(releaseDir, a.path)), new Transform({
        transform(chunk: Buffer, _enc, next) { progress?.advance(chunk.length); next(null, chunk); },
      }), createWriteStream(tmp));
      await fsp.rename(tmp, to);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw withContext(`copy ${a.path} to ${root}`, err);
    }
    progress?.done(`${(a.sizeBytes / 1048576).toFixed(1)} MiB`);
    copied++;
  }
  return copied;
}

/**
 * Check that `baseUrl` serves each artifact at its size with Range support; throws ARTIFACT_UNREACHABLE.
 * `publish` runs it before it publishes anything, `rollout start` before it plans the first stage.
 */
export async function checkArtifacts(release: ReleaseMetadata, baseUrl: string, signal?: AbortSignal): Promise<void> {
  for (const a of artifactsOf(release)) {
    const url = new URL(a.path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
    const why = await probe(url, a.sizeBytes, signal);
    if (why !== undefined) throw new OtaError('ARTIFACT_UNREACHABLE', `artifact ${url}: ${why}: copy the release's targets/ there (ota-fleet publish --copy-to the served directory) before any device is targeted`);
  }
}

async function probe(url: string, sizeBytes: number, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    const res = await fetch(url, { headers: { Range: 'bytes=0-0' }, ...(signal === undefined ? {} : { signal }) });
    const range = res.headers.get('content-range');
    const length = res.headers.get('content-length');
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 206) return range === `bytes 0-0/${sizeBytes}` ? undefined : `Content-Range ${range ?? '(none)'} does not say ${sizeBytes} bytes`;
    if (res.status === 200) return length === String(sizeBytes) ? 'the server ignores Range (devices could not resume)' : `${length ?? '?'} bytes, not ${sizeBytes}`;
    return `HTTP ${res.status}`;
  } catch (err) {
    return describe(err);
  }
}

/** The channel a notice's signed rollout is for (docs/mqtt.md: one retained rollout topic per hardware and channel). */
export function noticeChannel(notice: Uint8Array): string {
  return readRollout(readNotice(notice).rollout, 'notice.rollout').channel;
}

/** Where a notice goes: retained on the rollout topic of each hardware for `channel`, or to named devices. */
export function noticeTopics(release: ReleaseMetadata, devices: readonly string[], channel: string = DEFAULT_CHANNEL): { topic: string; retain: boolean }[] {
  if (devices.length > 0) return devices.map((d) => ({ topic: topicsFor(d, release.hardware[0] ?? 'any').notice, retain: false }));
  return release.hardware.map((hw) => ({ topic: rolloutTopic(hw, channel), retain: true }));
}

/** Publish the notice at QoS 1 on each topic. */
export async function publishNotice(client: MqttClient, notice: Uint8Array, topics: readonly { topic: string; retain: boolean }[]): Promise<void> {
  for (const t of topics) await client.publishAsync(t.topic, Buffer.from(notice), { qos: 1, retain: t.retain });
}

/**
 * Write `notice` as the current rollout document of each of `hardware` (on `channel`) under `root` (an artifact server's
 * directory), atomically: a device fetching it during the write gets the old document or the new one.
 * Returns the paths written, relative to `root`.
 */
export async function serveRolloutDocument(root: string, hardware: readonly string[], notice: Uint8Array, channel: string = DEFAULT_CHANNEL): Promise<string[]> {
  const written: string[] = [];
  for (const hw of hardware) {
    const path = rolloutDocumentPath(hw, channel);
    await fsp.mkdir(dirname(join(root, path)), { recursive: true });
    await writeFileAtomic(join(root, path), notice);
    written.push(path);
  }
  return written;
}
