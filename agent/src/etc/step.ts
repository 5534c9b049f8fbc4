/**
 * The install's /etc step, run after the image is written and before the
 * trial is armed: fetch the new release's /etc manifest (a signed artifact),
 * prepare the target slot's upper directory, log and save the conflicts.
 * A device that does not boot through the pre-init (no overlay) skips it.
 */
import { OtaError } from '../errors/index.js';
import type { ReleaseMetadata } from '../formats/index.js';
import type { ArtifactSource } from '../install/index.js';
import type { Logger } from '../log/index.js';
import { ETC_MANIFEST_LIMITS, parseManifest, type EtcManifest } from './manifest.js';
import { hasEtcOverlay, prepareSlotEtc, type EtcLayout, type EtcMergeStore } from './prepare.js';

/** What the step needs. */
export interface EtcStepInput {
  readonly layout: EtcLayout;
  readonly release: ReleaseMetadata;
  readonly source: ArtifactSource;
  readonly booted: string;
  readonly target: string;
  readonly store: EtcMergeStore;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** Carry the running slot's /etc changes to `target`; reports conflicts with the new release. */
export async function carryEtc(input: EtcStepInput): Promise<void> {
  const { layout, release, log } = input;
  if (!await hasEtcOverlay(layout)) return;
  const manifest = release.etc === undefined ? undefined : await fetchManifest(input);
  const merge = await prepareSlotEtc(layout, input.booted, input.target, release.version, manifest, input.signal);
  await input.store.save(merge);
  const c = merge.conflicts;
  if (c === undefined) {
    log.warn(`release ${release.version} carries no /etc manifest: the device's changes to /etc go to slot ${input.target} unchecked (make releases from ext4 images to get conflict reports)`);
  } else if (c.total > 0) {
    log.warn(`/etc: ${c.total} file(s) the device changed were also changed by release ${release.version}; the device's versions are kept: ${c.paths.join(', ')}${c.total > c.paths.length ? ', ...' : ''}`, { etcConflicts: c.total });
  } else {
    log.info(`/etc: the device's changes carried to slot ${input.target}, no conflict with release ${release.version}`);
  }
}

async function fetchManifest(input: EtcStepInput): Promise<EtcManifest> {
  const artifact = input.release.etc;
  if (artifact === undefined) throw new OtaError('ETC_MANIFEST_MISSING', `release ${input.release.version} has no /etc manifest`);
  const what = `release ${input.release.version}'s /etc manifest (${artifact.path})`;
  if (artifact.sizeBytes > ETC_MANIFEST_LIMITS.maxBytes) {
    throw new OtaError('ETC_MANIFEST_INVALID', `${what}: ${artifact.sizeBytes} bytes, over ${ETC_MANIFEST_LIMITS.maxBytes}: make the release again with a current ota-fleet`);
  }
  const pieces: Buffer[] = [];
  await input.source.fetch(artifact, 0, async (_offset, bytes) => { pieces.push(Buffer.from(bytes)); }, input.signal);
  return parseManifest(Buffer.concat(pieces), what);
}
