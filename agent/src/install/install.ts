/**
 * Writing one artifact into the target slot, streamed: each verified segment
 * goes straight into the slot and is fsynced before the checkpoint names it
 * (progress = artifact bytes consumed, always at a segment boundary). A raw
 * image is written as is. A delta goes through the streaming decoder
 * (DeltaStream), and so is a compressed full image (an otadelta without a
 * base): the release cuts an otadelta on its container's boundaries, so
 * segment 0 is the header (saved on the data partition, a few KiB, to resume
 * with) and each later segment is one container segment, applied from the
 * booted slot into the target as it arrives. Nothing holds a copy of the whole
 * delta. A resumed delta re-reads the saved header (checked against its signed
 * sha256 again) and re-hashes the target prefix already written; a segment
 * handed over again after a crash is skipped. `finish` re-reads the slot.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { OtaError } from '../errors/index.js';
import { mkdirDurable, readFileIfExists, writeFileAtomic } from '../durable/index.js';
import { DeltaApplier, DeltaStream, openBaseFile, type BaseReader, type OpenApplier } from '../delta/index.js';
import { DELTA_ARTIFACT_FORMATS, RAW_FORMAT, isDeltaArtifactFormat } from '../formats/index.js';
import type { Artifact, DeltaArtifact } from '../formats/index.js';
import type { Checkpoint } from '../machine/index.js';
import { SlotWriter } from '../slots/index.js';
import type { SlotTarget } from '../slots/index.js';
import type { ArtifactSource } from './artifacts.js';

/** What one install writes, from where. */
export interface InstallPlan {
  readonly artifact: Artifact | DeltaArtifact;
  /** Bytes of the installed image (release.installed.sizeBytes). */
  readonly imageSizeBytes: number;
  readonly target: SlotTarget;
  /** The booted slot's device: the base a delta reads. */
  readonly baseDevice: string;
  /** The base's sha256 as read to choose the delta (hex): the applier then does not read the whole base again. */
  readonly baseSha256?: string;
  readonly source: ArtifactSource;
  /** Directory on the data partition for download state and a delta's saved header. */
  readonly spoolDir: string;
  /** Durable progress to resume from (artifact bytes). */
  readonly fromBytes: number;
  /** The signed rollout's spread window: a fresh network download starts at a random point in it. */
  readonly spreadWindowMs?: number;
}

/** Write `plan.artifact` into the target slot; checkpoints progress as it goes. */
export async function installArtifact(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<void> {
  if (plan.artifact.format === RAW_FORMAT) return installRaw(plan, checkpoint, signal);
  if (isDeltaArtifactFormat(plan.artifact.format)) return installDelta(plan, checkpoint, signal);
  throw new OtaError('ARTIFACT_FORMAT', `artifact ${plan.artifact.path} has format ${plan.artifact.format}, which this agent cannot apply (it knows ${[RAW_FORMAT, ...Object.keys(DELTA_ARTIFACT_FORMATS)].join(', ')}): update the agent first`);
}

async function installRaw(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<void> {
  const writer = await SlotWriter.open(plan.target, plan.imageSizeBytes);
  try {
    await plan.source.fetch(plan.artifact, plan.fromBytes, async (offsetBytes, bytes) => {
      await writer.write(offsetBytes, bytes);
      await checkpoint(offsetBytes + bytes.length);
    }, signal, plan.spreadWindowMs);
  } finally {
    await writer.close();
  }
}

async function installDelta(plan: InstallPlan, checkpoint: Checkpoint, signal: AbortSignal): Promise<void> {
  const head = new SavedHead(plan.spoolDir, plan.artifact);
  // Every segment is applied and durable (a cut after the last checkpoint; the saved header may be gone):
  // starting over would move progress back and forth and defeat the machine's crash-loop count.
  // verifySlot reads the slot back against the release either way.
  if (plan.fromBytes >= plan.artifact.sizeBytes) return head.remove();
  let base: BaseReader | undefined;
  const open: OpenApplier = async (header, resume) => {
    if (header.targetSizeBytes > plan.target.sizeBytes) {
      throw new OtaError('SLOT_TOO_SMALL', `the image has ${header.targetSizeBytes} bytes but slot ${plan.target.slot} (${plan.target.device}) has ${plan.target.sizeBytes}: use a larger slot or a smaller image`);
    }
    // The full image as an otadelta must not read the base: a device falls back to it because its base drifted.
    if (!('base' in plan.artifact) && !header.full) {
      throw new OtaError('ARTIFACT_FORMAT', `the full image ${plan.artifact.path} is an otadelta that reads a base: a full image must not need one; make the release again`);
    }
    const opened = header.full ? undefined : await openBaseFile(plan.baseDevice, header.baseSizeBytes);
    try {
      const applier = await DeltaApplier.open({
        header, targetPath: plan.target.device, signal,
        ...(resume === undefined ? {} : { resume }),
        ...(opened === undefined ? {} : { base: opened, baseName: `booted slot (${plan.baseDevice})` }),
        ...(plan.baseSha256 === undefined ? {} : { baseSha256: Buffer.from(plan.baseSha256, 'hex') }),
      });
      base = opened;
      return applier;
    } catch (err) {
      await opened?.close();
      throw err;
    }
  };
  const stream = await resumeOrStart(plan.fromBytes, head, open);
  try {
    await plan.source.fetch(plan.artifact, stream.offsetBytes, async (offsetBytes, bytes) => {
      // A source may hand over again what is already applied (a crash between apply and checkpoint): skip it.
      if (offsetBytes + bytes.length <= stream.offsetBytes) return;
      if (offsetBytes !== stream.offsetBytes) {
        throw new OtaError('ARTIFACT_GAP', `artifact ${plan.artifact.path}: segment at ${offsetBytes} handed over but ${stream.offsetBytes} is next: run the install again`);
      }
      await stream.push(bytes);
      await head.collect(offsetBytes, bytes, stream.header?.headerSizeBytes);
      if (stream.atBoundary) await checkpoint(stream.offsetBytes);
    }, signal, stream.offsetBytes === 0 ? plan.spreadWindowMs : undefined);
    await stream.finish();
  } finally {
    await stream.close();
    await base?.close();
  }
  await head.remove();
}

/** Resume at `fromBytes` from the saved header; without a usable one (lost, damaged, not a boundary) start over. */
async function resumeOrStart(fromBytes: number, head: SavedHead, open: OpenApplier): Promise<DeltaStream> {
  if (fromBytes === 0) return DeltaStream.fresh(open);
  try {
    return await DeltaStream.resume(open, await head.load(), fromBytes);
  } catch (err) {
    if (!(err instanceof OtaError) || err.code !== 'DELTA_RESUME') throw err;
    head.reset();
    return DeltaStream.fresh(open);
  }
}

/**
 * The first artifact segments of a delta, up to the end of its header, kept on
 * the data partition so a restart can reopen the applier (for a release cut on
 * the container's boundaries: exactly the header). Saved before the first
 * checkpoint; on load each segment is checked against its signed sha256 again.
 */
class SavedHead {
  private readonly path: string;
  private readonly pieces: Buffer[] = [];
  private saved = false;

  constructor(dir: string, private readonly artifact: Artifact) {
    this.path = join(dir, `${artifact.sha256}.head`);
  }

  /** Note a consumed segment; once the header is covered, save what covers it. */
  async collect(offsetBytes: number, bytes: Buffer, headerSizeBytes: number | undefined): Promise<void> {
    if (this.saved) return;
    this.pieces.push(Buffer.from(bytes));
    if (headerSizeBytes === undefined || offsetBytes + bytes.length < headerSizeBytes) return;
    await mkdirDurable(dirname(this.path));
    await writeFileAtomic(this.path, Buffer.concat(this.pieces));
    this.pieces.length = 0;
    this.saved = true;
  }

  /** The saved segments, each checked against the signed metadata. */
  async load(): Promise<Buffer> {
    const bytes = await readFileIfExists(this.path);
    if (bytes === undefined) throw new OtaError('DELTA_RESUME', `the saved delta header ${this.path} is missing: the install starts over`);
    for (const seg of this.artifact.segments) {
      if (seg.offset >= bytes.length) break;
      const piece = bytes.subarray(seg.offset, seg.offset + seg.sizeBytes);
      if (piece.length !== seg.sizeBytes || createHash('sha256').update(piece).digest('hex') !== seg.sha256) {
        throw new OtaError('DELTA_RESUME', `the saved delta header ${this.path} does not match the signed release: the install starts over`);
      }
    }
    this.saved = true;
    return bytes;
  }

  /** Forget a loaded header (the install starts over and saves it again). */
  reset(): void {
    this.saved = false;
  }

  /** Drop the saved header, and a whole-delta spool an older agent may have left. */
  async remove(): Promise<void> {
    await fsp.rm(this.path, { force: true });
    await fsp.rm(join(dirname(this.path), `${this.artifact.sha256}.delta`), { force: true });
  }
}
