/**
 * MachinePorts on the real pieces: BootControl (U-Boot env), the trust
 * verifier, the slot table and writers, the artifact source (release directory
 * or HTTP mirrors), the delta decoder and the health checks. How to reboot is
 * the caller's: stop after arming (`install`), run the boot simulator (`sim`),
 * or ask systemd (a device).
 */
import { readNotice, readRelease, readRollout } from '../formats/index.js';
import type { ReleaseMetadata } from '../formats/index.js';
import { runHealth, spawnCommand } from '../health/index.js';
import type { CommandRunner, FleetProbe, HealthResult } from '../health/index.js';
import { BOOT_VARS } from '../boot/index.js';
import type { BootCounters, Checkpoint, Job, MachinePorts, Report, SlotPair, VerifiedNotice } from '../machine/index.js';
import { OtaError, withContext } from '../errors/index.js';
import { IMPLAUSIBLE_FIX, checkImageSize, hashSlot, otherSlot, verifySlotImage } from '../slots/index.js';
import type { ArtifactSource } from '../install/index.js';
import { asSlot, slotDigest } from './device.js';
import type { Device } from './device.js';
import { installArtifact } from '../install/index.js';
import { carryEtc } from '../etc/index.js';
import type { Logger } from '../log/index.js';
import { payloadFor, type PayloadChoice, type ReadBase } from './payload.js';
import { checkBootScriptTarget, commitBootScript, discardBootScript, stageBootScript } from './boot-files.js';

/** How the ports reach the world beyond the device's files. */
export interface PortOptions {
  readonly source: ArtifactSource;
  /** Reboot into the slot the bootloader will pick (may stop the runner instead of returning). */
  readonly reboot: (job: Job) => Promise<void>;
  readonly fleet: FleetProbe;
  readonly log: Logger;
  readonly runCommand?: CommandRunner;
  /** An operator's verdict (`mark-good` / `mark-bad` during a trial) instead of running the checks. */
  readonly healthVerdict?: boolean;
  readonly onHealth?: (result: HealthResult) => void;
  readonly onReport?: (report: Report) => void;
  /** Durable install progress: artifact bytes done of the artifact's size. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** The release inside a job's notice (verified when the job began, in `verifying`). */
export function releaseOf(job: Job): ReleaseMetadata {
  return readRelease(readNotice(Buffer.from(job.noticeBase64, 'base64')).release, 'notice.release');
}

/** The spread window of the job's signed rollout, in ms: devices start downloading at a random point in it. */
function spreadWindowMsOf(job: Job): number {
  return readRollout(readNotice(Buffer.from(job.noticeBase64, 'base64')).rollout, 'notice.rollout').spreadSeconds * 1000;
}

function versionOf(job: Job): number {
  if (job.version === undefined) throw new OtaError('JOURNAL_VERSION', 'update journal: the job has no release version');
  return job.version;
}

/** Build the machine's ports for `device`. */
export function agentPorts(device: Device, options: PortOptions): MachinePorts {
  const { boot, slots, records, trust } = device;
  return {
    async verify(notice: Uint8Array, signal: AbortSignal): Promise<VerifiedNotice> {
      const current = await slotDigest(device, await boot.booted(), signal);
      const accepted = await trust.accept(notice, { current });
      return { version: accepted.release.version, sequence: accepted.rollout.version, epoch: accepted.rolloutEpoch, channel: accepted.channel };
    },
    async slots(): Promise<SlotPair> {
      const booted = await boot.booted();
      return { booted, inactive: otherSlot(booted), primary: await boot.primary() };
    },
    async install(job: Job, signal: AbortSignal, checkpoint: Checkpoint): Promise<void> {
      const release = releaseOf(job);
      checkImageSize(release.installed.sizeBytes, `release ${release.version}'s image`, IMPLAUSIBLE_FIX); // before a byte or a boot variable changes
      checkBootScriptTarget(device.config, release);
      const previous = asSlot(job.previous, 'the previous slot');
      const target = await slots.target(asSlot(job.target, 'the target slot'), await boot.booted());
      // Before any byte is fetched or written: read the base once, pick delta or full image, save the choice.
      const { choice, fromBytes } = await payloadFor({
        release, version: job.version ?? release.version, target: target.slot, progressBytes: job.progress,
        recorded: (await records.load()).slots[previous], readBase: baseReader(slots.device(previous), signal), store: device.payloads,
      });
      const artifact = choice.artifact;
      if (fromBytes === 0) await records.setContent(target.slot, null);
      // A slot being written must not be bootable: out of BOOT_ORDER before the first byte, and again
      // on every resume (a lost env brings the script's default "A B" back). Else a booted slot that
      // runs out of tries while the install is cut short falls through to a half-written image.
      if ((await boot.state(target.slot)).kind !== 'bad') await boot.markBad(target.slot);
      logChoice(options.log, choice, previous, slots.device(previous));
      options.log.info(`installing release ${release.version} into slot ${target.slot}`, {
        artifact: artifact.path, kind: choice.payload, reason: choice.reason, sizeBytes: artifact.sizeBytes, from: options.source.description, resumeAtBytes: fromBytes,
      });
      await installArtifact({
        artifact, imageSizeBytes: release.installed.sizeBytes, target, baseDevice: slots.device(previous),
        ...(choice.baseSha256 === undefined ? {} : { baseSha256: choice.baseSha256 }),
        source: options.source, spoolDir: device.spoolDir, fromBytes,
        ...(job.progress === 0 ? { spreadWindowMs: spreadWindowMsOf(job) } : {}),
      }, async (doneBytes) => {
        await checkpoint(doneBytes);
        options.onProgress?.(doneBytes, artifact.sizeBytes);
      }, signal);
      // Before the trial is armed: the device's /etc changes go to the new slot, conflicts with the release reported.
      await carryEtc({
        layout: device.config.etc, release, source: options.source, booted: previous, target: target.slot,
        store: device.etcMerges, log: options.log, signal,
      });
    },
    async verifySlot(job: Job, signal: AbortSignal): Promise<void> {
      const release = releaseOf(job);
      const slot = asSlot(job.target, 'the target slot');
      await verifySlotImage(slots.device(slot), release.installed, `release ${release.version}'s image`, signal)
        .catch((err: unknown) => { throw withContext(`slot ${slot} (${slots.device(slot)})`, err); });
      const before = (await records.load()).slots[otherSlot(slot)];
      const note = before?.sha256 === release.installed.sha256
        ? `holds the image slot ${otherSlot(slot)} already ran (release ${before.version ?? 'unknown'}): release ${release.version} changes nothing`
        : undefined;
      if (note !== undefined) options.log.warn(`slot ${slot} ${note}`);
      await records.setContent(slot, {
        version: release.version, ...release.installed, ...(note === undefined ? {} : { note }), ...(release.name === undefined ? {} : { name: release.name }),
      });
    },
    async arm(job: Job): Promise<void> {
      // The slot is written and verified: its boot script goes on the boot partition before the trial is
      // armed (a restored commit has no notice: its script is boot.scr already)
      if (job.noticeBase64 !== '') await stageBootScript(device.config, releaseOf(job), options.source, new AbortController().signal, options.log);
      await boot.setPrimary(asSlot(job.target, 'the target slot'));
      options.log.event('info', 'slot.armed', `armed a trial boot of slot ${job.target ?? '?'} (release ${job.version ?? '?'})`, { slot: job.target, release: job.version });
    },
    async bootCounters(): Promise<BootCounters> {
      const { bootCount } = await boot.cmdline();
      const exhausted = parseInt((await device.env.read()).get(BOOT_VARS.exhausted) ?? '0', 16);
      return { boot: bootCount, exhausted: Number.isSafeInteger(exhausted) ? exhausted : 0 };
    },
    async envLost(target: string): Promise<boolean> {
      const slot = asSlot(target, 'the target slot');
      const lost = (await boot.state(slot)).kind === 'good';
      if (lost) options.log.warn(`the boot env lost the trial of slot ${slot} (the bootloader's defaults booted ${await boot.booted()}): arming it again`);
      return lost;
    },
    reboot: (job) => options.reboot(job),
    async health(_job: Job, signal: AbortSignal): Promise<boolean> {
      if (options.healthVerdict !== undefined) return options.healthVerdict;
      const result = await runHealth(device.config.health, { run: options.runCommand ?? spawnCommand, fleet: options.fleet }, signal);
      for (const c of result.checks) options.log[c.ok ? 'info' : 'warn'](`health check ${c.name} (${c.level}): ${c.ok ? 'passed' : 'FAILED'}: ${c.detail}`);
      options.onHealth?.(result);
      return result.healthy;
    },
    async commit(job: Job): Promise<void> {
      const slot = asSlot(job.target, 'the target slot');
      // The health check passed on `slot`; a lost env since (the bootloader's defaults) puts the old slot
      // first, and marking `slot` good would leave it second: make it primary, then good (two env writes,
      // only on this path; a cut between them leaves it primary on trial, which resumes here)
      if ((await boot.primary()) !== slot) await boot.setPrimary(slot);
      await boot.markGood(slot);
      await trust.committed(versionOf(job));
      await records.setCommitted(slot);
      await commitBootScript(device.config, options.log);
      options.log.event('info', 'slot.committed', `committed slot ${slot} (release ${job.version ?? '?'})`, { slot, release: job.version });
    },
    async revert(job: Job): Promise<void> {
      if (job.target === undefined) return revertToCommitted(device, options.log);
      const target = asSlot(job.target, 'the target slot');
      const previous = job.previous === undefined ? otherSlot(target) : asSlot(job.previous, 'the previous slot');
      if ((await boot.state(target)).kind !== 'bad') await boot.markBad(target);
      await discardBootScript(device.config);
      if (job.version !== undefined) await trust.failed(versionOf(job));
      if ((await boot.booted()) === previous) {
        await boot.markGood(previous);
        await records.setCommitted(previous);
      }
      options.log.event('warn', 'slot.reverted', `reverted: slot ${target} is out of the boot order, slot ${previous} boots${job.error === undefined ? '' : ` reason=${JSON.stringify(job.error)}`}`, { slot: target, boots: previous, reason: job.error });
    },
    async report(report: Report): Promise<void> {
      options.log.event('info', 'update.outcome', `update ${report.outcome} version=${report.version ?? '?'}${report.error === undefined ? '' : ` error=${JSON.stringify(report.error)}`}`, { outcome: report.outcome, release: report.version, error: report.error });
      options.onReport?.(report);
    },
  };
}

/** Reads the booted slot's first N bytes for the payload choice; a slot shorter than N is no such base. */
function baseReader(path: string, signal: AbortSignal): ReadBase {
  return async (sizeBytes) => {
    try {
      return await hashSlot(path, sizeBytes, signal);
    } catch (err) {
      if (err instanceof OtaError && err.code === 'SLOT_SHORT') return undefined;
      throw err;
    }
  };
}

/** A base that drifted is worth a warning: the device's root was changed in place (mounted read-write?). */
function logChoice(log: Logger, choice: PayloadChoice, slot: string, path: string): void {
  if (choice.reason !== 'base-drifted') return;
  log.warn(`slot ${slot} (${path}) is not the base the release's delta was made from (it reads as sha256 ${choice.found?.sha256 ?? 'unknown'}): installing the full image instead`, {
    payload: choice.payload, reason: choice.reason,
  });
}

/** The journal was lost: make the last committed slot (else the booted one) the only one in the boot order. */
async function revertToCommitted(device: Device, log: Logger): Promise<void> {
  const committed = (await device.records.load()).committed ?? await device.boot.booted();
  await device.boot.markBad(otherSlot(committed));
  await device.boot.markGood(committed);
  await discardBootScript(device.config);
  log.warn(`update journal was unreadable: slot ${committed}, the last committed, is the only slot in the boot order`);
}
