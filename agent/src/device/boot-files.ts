/**
 * A release's boot script on the device's boot partition (docs/boot-partition-updates.md): refused
 * before the slot is written when the config names no boot partition; fetched (each segment and the
 * whole checked against the signed metadata) and staged as boot.scr.uimg when the trial is armed;
 * promoted to boot.scr at the commit; dropped when the trial is reverted.
 */
import { createHash } from 'node:crypto';
import { BootScripts, mountedBootDir } from '../boot/index.js';
import { OtaError } from '../errors/index.js';
import { BOOT_SCRIPT_MAX_BYTES, type ReleaseMetadata } from '../formats/index.js';
import type { ArtifactSource } from '../install/index.js';
import type { Logger } from '../log/index.js';
import type { AgentConfig } from '../config/index.js';

function writer(config: AgentConfig): BootScripts | undefined {
  return config.bootPartitionDir === undefined ? undefined : new BootScripts(mountedBootDir(config.bootPartitionDir), `boot partition ${config.bootPartitionDir}`);
}

/** Refuse, before anything is written, a release with a boot script on a device whose config names no boot partition. */
export function checkBootScriptTarget(config: AgentConfig, release: ReleaseMetadata): void {
  if (release.bootScript === undefined || config.bootPartitionDir !== undefined) return;
  throw new OtaError('BOOT_SCRIPT_NO_PARTITION', `release ${release.version} carries a new boot.scr, but the agent config (${config.source}) has no "bootPartition" (where the boot partition is mounted, e.g. /boot/firmware): add it, or release without --boot-script`);
}

/** The release's boot script, checked against its signed size and sha256. */
async function fetchBootScript(release: ReleaseMetadata, source: ArtifactSource, signal: AbortSignal): Promise<Buffer | undefined> {
  const artifact = release.bootScript;
  if (artifact === undefined) return undefined;
  if (artifact.sizeBytes > BOOT_SCRIPT_MAX_BYTES) throw new OtaError('BOOT_SCRIPT_INVALID', `release ${release.version}'s boot script is ${artifact.sizeBytes} bytes, over ${BOOT_SCRIPT_MAX_BYTES}`);
  const pieces: Buffer[] = [];
  await source.fetch(artifact, 0, async (_offset, bytes) => { pieces.push(Buffer.from(bytes)); }, signal);
  const bytes = Buffer.concat(pieces);
  if (bytes.length !== artifact.sizeBytes || createHash('sha256').update(bytes).digest('hex') !== artifact.sha256) {
    throw new OtaError('ARTIFACT_CORRUPT', `release ${release.version}'s boot script (${artifact.path}) does not match its signed size and sha256: fetch the release again`);
  }
  return bytes;
}

/** Before the trial is armed: the release's boot script as boot.scr.uimg (nothing when it carries none). */
export async function stageBootScript(config: AgentConfig, release: ReleaseMetadata, source: ArtifactSource, signal: AbortSignal, log: Logger): Promise<void> {
  checkBootScriptTarget(config, release);
  const bytes = await fetchBootScript(release, source, signal);
  const w = writer(config);
  if (bytes === undefined || w === undefined) return;
  await w.stage(bytes);
  log.info(`staged release ${release.version}'s boot script as boot.scr.uimg in ${config.bootPartitionDir ?? '?'} (boot.scr keeps the committed one)`);
}

/** After the commit: a staged boot.scr.uimg becomes boot.scr. */
export async function commitBootScript(config: AgentConfig, log: Logger): Promise<void> {
  const done = await writer(config)?.commit();
  if (done === 'promoted') log.info('the staged boot script is now boot.scr');
  if (done === 'torn') log.warn('boot.scr.uimg was damaged (U-Boot skipped it for boot.scr): removed; boot.scr is unchanged');
}

/** After a revert: a staged boot.scr.uimg goes; boot.scr (the committed script) stays. */
export async function discardBootScript(config: AgentConfig): Promise<void> {
  await writer(config)?.discard();
}
