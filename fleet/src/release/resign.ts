/**
 * Re-signing before expiry (`ota-fleet resign`, from a timer, and anything else that runs
 * long): a rollout lives 7 days and a release 30, and a device refuses either once expired.
 * A document is due when less than half its life is left. The rollout (online key) is signed
 * again as the next rollout version, same release, audience and spread, as TUF bumps the
 * timestamp's version; the release only when its keys are in the key directory (they
 * usually live on the signing host), keeping its version (anti-rollback) and its targets,
 * and then the rollout too (it names the release by sha256).
 */
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import { canonicalBytes, formatUtcTime, readRelease, readRollout, readSignedFile, type JsonObject } from '../../../agent/src/formats/index.js';
import { loadCurrentRoot, roleKeys, signDocument } from '../keys/index.js';
import { writeRollout } from './rollouts.js';

/** What `resign` did to one document. */
export interface Resigned {
  readonly version: number;
  /** True when it was signed again now. */
  readonly resigned: boolean;
  readonly expires: string;
  /** Why not, when it was due and could not be (the release key is offline). */
  readonly problem?: string;
}

/** Due when less than half of `lifeMs` is left before `expiresMs`. */
export function dueForResign(expiresMs: number, lifeMs: number, nowMs: number): boolean {
  return expiresMs - nowMs < lifeMs / 2;
}

async function readDoc(file: string): Promise<ReturnType<typeof readSignedFile>> {
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new OtaError('RELEASE_MISSING', `${file} not found: name a release directory made by ota-fleet release`);
  return readSignedFile(bytes, file);
}

/** Re-sign the release in `dir` (if due and its keys are here), then its rollout (if due, or if the release changed). */
export async function resignRelease(keysDir: string, dir: string, nowMs: number, releaseLifeMs: number): Promise<{ release: Resigned; rollout: Resigned }> {
  const releaseFile = join(dir, 'release.json');
  const releaseEnv = await readDoc(releaseFile);
  const release = readRelease(releaseEnv, releaseFile);
  const rolloutEnv = await readDoc(join(dir, 'rollout.json'));
  const rollout = readRollout(rolloutEnv, join(dir, 'rollout.json'));
  const releaseResult = await resignReleaseDoc(keysDir, releaseFile, releaseEnv.signed, release.version, release.expiresMs, nowMs, releaseLifeMs);
  const lifeMs = rollout.expiresMs - rollout.issuedMs;
  if (!releaseResult.resigned && !dueForResign(rollout.expiresMs, lifeMs, nowMs)) {
    return { release: releaseResult, rollout: { version: rollout.version, resigned: false, expires: formatUtcTime(rollout.expiresMs) } };
  }
  const a = rollout.audience;
  const r = await writeRollout(keysDir, dir, join(dir, 'notice.json'), {
    devices: a.devices, cohorts: a.cohorts, ...(a.stage === undefined ? {} : { stage: a.stage }),
    spreadSeconds: rollout.spreadSeconds, expiresMs: nowMs + lifeMs, nowMs,
  });
  return { release: releaseResult, rollout: { version: r.version, resigned: true, expires: formatUtcTime(r.expiresMs) } };
}

async function resignReleaseDoc(keysDir: string, file: string, signed: JsonObject, version: number, expiresMs: number, nowMs: number, lifeMs: number): Promise<Resigned> {
  const kept = { version, resigned: false, expires: formatUtcTime(expiresMs) };
  if (!dueForResign(expiresMs, lifeMs, nowMs)) return kept;
  const { root } = await loadCurrentRoot(keysDir);
  // The release keys usually live on the signing host, not beside the online rollout key.
  const keys = await roleKeys(keysDir, root, 'release').catch((err: unknown) => {
    if (err instanceof OtaError && err.code === 'KEYS_MISSING') return undefined;
    throw err;
  });
  if (keys === undefined) {
    return { ...kept, problem: `release ${version} expires ${formatUtcTime(expiresMs)} and its keys are not in ${keysDir}: run ota-fleet resign where the release keys are` };
  }
  const next = signDocument({ ...signed, expires: formatUtcTime(nowMs + lifeMs) }, keys);
  const checked = readRelease(readSignedFile(canonicalBytes(next), file), file); // the device's own check
  await writeFileAtomic(file, canonicalBytes(next));
  return { version, resigned: true, expires: formatUtcTime(checked.expiresMs) };
}
