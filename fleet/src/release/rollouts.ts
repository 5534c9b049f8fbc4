/**
 * Signing a rollout for a release directory: the next rollout version from the
 * key directory's counter (KEYS/rollout.json, written atomically before the
 * notice so a version is never reused), then DIR/rollout.json and the notice.
 */
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import {
  DEFAULT_CHANNEL, MAX_NOTICE_ROOTS, canonicalBytes, fields, parseStrictJson, readRelease, readSignedFile, METADATA_LIMITS, type StagedCohort,
} from '../../../agent/src/formats/index.js';
import { loadCurrentRoot, roleKeys, rotationChain } from '../keys/index.js';
import { noticeBytes, releaseRef, rolloutSigned, signRollout, type RolloutSpec } from './documents.js';

/** Targeting and timing of a rollout. */
export interface RolloutOptions {
  readonly devices: readonly string[];
  readonly cohorts: readonly string[];
  /** The staged cohort of `ota-fleet rollout start` (see RolloutSpec.stage). */
  readonly stage?: StagedCohort;
  readonly expiresMs: number;
  readonly spreadSeconds: number;
  readonly nowMs: number;
}

/**
 * The next value of the counter `{ [name]: N }` in `file` (absent: 0), written durably before it is
 * returned, so a crash after signing never hands the same number out twice.
 */
export async function nextCounter(file: string, name: string): Promise<number> {
  const bytes = await readFileIfExists(file);
  const last = bytes === undefined ? 0
    : fields.uint(fields.member(fields.object(parseStrictJson(bytes, METADATA_LIMITS, file), file, [name]), name), `${file}.${name}`);
  const next = last + 1;
  await writeFileAtomic(file, canonicalBytes({ [name]: next }));
  return next;
}

/** The next rollout version of a key directory, recorded before use. */
export function nextRolloutVersion(keysDir: string): Promise<number> {
  return nextCounter(join(keysDir, 'rollout.json'), 'version');
}

/** Sign a rollout of the release in `releaseDir`; writes DIR/rollout.json and the notice at `noticeFile`. */
export async function writeRollout(keysDir: string, releaseDir: string, noticeFile: string, o: RolloutOptions): Promise<{ version: number; noticeBytes: Uint8Array; expiresMs: number; channel: string }> {
  const releaseFile = join(releaseDir, 'release.json');
  const bytes = await readFileIfExists(releaseFile);
  if (bytes === undefined) throw new OtaError('RELEASE_MISSING', `${releaseFile} not found: make the release with ota-fleet release first`);
  const envelope = readSignedFile(bytes, releaseFile);
  const release = readRelease(envelope, releaseFile);
  if (o.expiresMs <= o.nowMs) throw new OtaError('USAGE', 'the rollout would already be expired');
  const { root } = await loadCurrentRoot(keysDir);
  const keys = await roleKeys(keysDir, root, 'rollout');
  const spec = (version: number): RolloutSpec => ({
    version, issuedMs: o.nowMs, expiresMs: Math.min(o.expiresMs, release.expiresMs), release: releaseRef(envelope.document),
    devices: o.devices, cohorts: o.cohorts, spreadSeconds: o.spreadSeconds, ...(o.stage === undefined ? {} : { stage: o.stage }),
    channel: release.channels[0] ?? DEFAULT_CHANNEL, // the release's (first) channel: `release --channel` names one
  });
  rolloutSigned(spec(0)); // the device's check before the counter moves: a refused rollout uses up no version
  const version = await nextRolloutVersion(keysDir);
  const rollout = signRollout(spec(version), keys);
  await writeFileAtomic(join(releaseDir, 'rollout.json'), canonicalBytes(rollout));
  const notice = noticeBytes(envelope.document, rollout, await rotationChain(keysDir, MAX_NOTICE_ROOTS));
  await writeFileAtomic(noticeFile, notice);
  return { version, noticeBytes: notice, expiresMs: spec(version).expiresMs, channel: release.channels[0] ?? DEFAULT_CHANNEL };
}
