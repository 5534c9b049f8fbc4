/**
 * Writing one artifact into the target slot. A raw image streams straight into
 * the slot, segment by verified segment, each fsynced and checkpointed (progress
 * = image bytes in the slot). A delta is first spooled to the data partition
 * (progress = delta bytes spooled; deltas are small, and the spool makes the
 * download resumable), then applied by the streaming decoder from the booted
 * slot into the target, which re-reads and checks the result. A resumed apply
 * starts over from the spool.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { OtaError, withContext } from '../errors/index.js';
import { DeltaApplier, openBaseFile, readDeltaFileHeader, readDeltaFileSegments } from '../delta/index.js';
import { RAW_FORMAT } from '../formats/index.js';
import type { Artifact, DeltaArtifact } from '../formats/index.js';
import type { Checkpoint } from '../machine/index.js';
import { SlotWriter } from '../slots/index.js';
import type { SlotTarget } from '../slots/index.js';
import type { ArtifactSource } from './artifacts.js';

/** The delta container format `ota-fleet release --delta` names. */
export const DELTA_FORMAT = 'otadelta';

/** What one install writes, from where. */
export interface InstallPlan {
  readonly artifact: Artifact | DeltaArtifact;
  /** Bytes of the installed image (release.installed.sizeBytes). */
  readonly imageSizeBytes: number;
  readonly target: SlotTarget;
  /** The booted slot's device: the base a delta reads. */
  readonly baseDevice: string;
  readonly source: ArtifactSource;
  /** Directory on the data partition for delta spools. */
  readonly spoolDir: string;
  /** Durable progress to resume from (artifact bytes). */
  readonly fromBytes: number;
}

/** Write `plan.artifact` into the target slot; checkpoints progress as it goes. */
export async function installArtifact(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<void> {
  if (plan.artifact.format === RAW_FORMAT) return installRaw(plan, checkpoint, signal);
  if (plan.artifact.format === DELTA_FORMAT) return installDelta(plan, checkpoint, signal);
  throw new OtaError('ARTIFACT_FORMAT', `artifact ${plan.artifact.path} has format ${plan.artifact.format}, which this agent cannot apply (it knows ${RAW_FORMAT}, ${DELTA_FORMAT}): update the agent first`);
}

async function installRaw(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<void> {
  const writer = await SlotWriter.open(plan.target, plan.imageSizeBytes);
  try {
    await plan.source.fetch(plan.artifact, plan.fromBytes, async (offsetBytes, bytes) => {
      await writer.write(offsetBytes, bytes);
      await checkpoint(offsetBytes + bytes.length);
    }, signal);
  } finally {
    await writer.close();
  }
}

async function installDelta(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<void> {
  const path = plan.source.localPath(plan.artifact) ?? await spool(plan, checkpoint, signal);
  const header = await readDeltaFileHeader(path);
  if (header.targetSizeBytes > plan.target.sizeBytes) {
    throw new OtaError('SLOT_TOO_SMALL', `the image has ${header.targetSizeBytes} bytes but slot ${plan.target.slot} (${plan.target.device}) has ${plan.target.sizeBytes}: use a larger slot or a smaller image`);
  }
  const base = header.full ? undefined : await openBaseFile(plan.baseDevice, header.baseSizeBytes);
  try {
    const applier = await DeltaApplier.open({
      header, targetPath: plan.target.device, signal,
      ...(base === undefined ? {} : { base, baseName: `booted slot (${plan.baseDevice})` }),
    });
    try {
      let index = 0;
      for await (const payload of readDeltaFileSegments(path, header)) await applier.applySegment(index++, payload);
      await applier.finish();
    } finally {
      await applier.close();
    }
  } finally {
    await base?.close();
  }
  if (plan.source.localPath(plan.artifact) === undefined) await fsp.rm(path, { force: true });
}

/** Download the delta into the spool (resumable), fsynced segment by segment. */
async function spool(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<string> {
  await fsp.mkdir(plan.spoolDir, { recursive: true });
  const path = join(plan.spoolDir, `${plan.artifact.sha256}.delta`);
  const fh = await fsp.open(path, plan.fromBytes > 0 ? 'r+' : 'w').catch((err: unknown) => { throw withContext(`delta spool ${path}`, err); });
  try {
    await plan.source.fetch(plan.artifact, plan.fromBytes, async (offsetBytes, bytes) => {
      await fh.write(bytes, 0, bytes.length, offsetBytes);
      await fh.sync();
      await checkpoint(offsetBytes + bytes.length);
    }, signal);
  } finally {
    await fh.close();
  }
  return path;
}
