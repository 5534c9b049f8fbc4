/**
 * What the agent does around a boot and what it reports: the post-boot step
 * (finish a trial: health check, commit or revert; on a normal boot refill the
 * running slot's tries), the operator's verdicts, and the status snapshot that
 * `status` prints and the daemon publishes.
 */
import { releaseLabel } from '../formats/index.js';
import { followedChannelIn, loadTrustState } from '../trust/index.js';
import { bootOrder } from '../boot/index.js';
import type { Slot, SlotState } from '../boot/index.js';
import { OtaError } from '../errors/index.js';
import { machine, statesIn } from '../machine/index.js';
import type { Job, JournalRecord, RunResult } from '../machine/index.js';
import { otherSlot } from '../slots/index.js';
import type { Device } from './device.js';
import type { Logger } from '../log/index.js';
import type { Session } from './session.js';
import type { PayloadKind, PayloadReason } from './payload.js';

/**
 * After boot: resume an update in flight, then keep the running committed slot's tries full.
 * An install resumed before arming runs from the committed slot too: its tries are refilled
 * first, or a few cut installs in a row would use them all up. A resumed update that ends at
 * rest refills them too: each boot it took (a report cut again and again) spent one, and the
 * bootloader would fall back to the other slot when they ran out. At rest, a committed slot
 * the env lost (see `lostCommit`) is tried again instead.
 */
export async function postBoot(session: Session, log: Logger): Promise<RunResult> {
  const before = await session.record();
  if (PRE_ARM.includes(before.state)) await refreshBooted(session.device, log);
  const result = await session.resume();
  if (result.kind !== 'rest') return result;
  if (before.state === 'idle') {
    const lost = await lostCommit(session.device, log);
    if (lost !== undefined) return session.restore(lost);
  }
  await refreshBooted(session.device, log);
  return result;
}

/**
 * At rest, the slot the records say is committed did not boot although the env still shows it
 * bootable (in the order, with tries, not on trial): only the script's defaults after a lost
 * env do that (a torn single copy: U-Boot then saves its defaults, "A B" with full tries).
 * A real fall-back spends the slot's tries, and `rollback` and `mark-bad` change the records
 * or take the slot out of the order. Without this, the device would run the old release for
 * good with the anti-rollback floor at the new one, which refuses the new release's notice.
 * Returns the job that tries the committed slot again, or undefined.
 */
async function lostCommit(device: Device, log: Logger): Promise<Job | undefined> {
  const records = await device.records.load();
  const committed = records.committed;
  const booted = await device.boot.booted();
  if (committed === undefined || committed === booted) return undefined;
  if ((await device.boot.state(committed)).kind !== 'good') return undefined;
  const version = records.slots[committed]?.version;
  if (version === undefined || version === null) {
    log.warn(`slot ${committed} is committed but slot ${booted} booted (a lost boot env?); slot ${committed} holds no recorded release, so it is not tried again`);
    return undefined;
  }
  log.warn(`the boot env lost the commit of slot ${committed} (release ${version}): the bootloader's defaults booted slot ${booted}; trying slot ${committed} again`);
  return { noticeBase64: '', version, target: committed, previous: booted, progress: 0, saves: {} };
}

/**
 * A committed slot loses a try on every boot: give them back (one env write, only when some were used).
 * One that spent its last try reads as bad but is still in the boot order: it is refilled too; one out
 * of the order was marked bad and stays so.
 */
export async function refreshBooted(device: Device, log: Logger): Promise<void> {
  const booted = await device.boot.booted();
  const state = await device.boot.state(booted);
  if (state.kind === 'trying') {
    log.warn(`slot ${booted} is on trial but no update is in flight: run ota-agent mark-good or mark-bad`);
    return;
  }
  const spent = state.kind === 'bad' ? bootOrder(await device.env.read()).includes(booted) : state.triesLeft < device.config.tries;
  if (spent) {
    await device.boot.markGood(booted);
    await device.records.setCommitted(booted);
  }
}

/**
 * `mark-good` / `mark-bad`: during a trial, the operator's verdict replaces the
 * health check and the machine finishes (commit, or revert); otherwise they act
 * on the boot env directly.
 */
export async function operatorVerdict(session: Session, good: boolean, log: Logger): Promise<string> {
  const { boot, records } = session.device;
  const before = await session.record();
  // The states that resume into the health check: there the verdict replaces it.
  if (machine[before.state].resume === 'checking') {
    const result = await session.resume();
    const last = result.kind === 'rest' ? result.record.last : undefined;
    return `update ${last?.outcome ?? 'stopped'}${last?.version === undefined ? '' : ` (release ${last.version})`}`;
  }
  if (before.state !== 'idle') throw new OtaError('MACHINE_BUSY', `an update is in state ${before.state}: let it finish (ota-agent post-boot) before marking slots`);
  const booted = await boot.booted();
  if (good) {
    await boot.markGood(booted);
    await records.setCommitted(booted);
    return `slot ${booted} marked good`;
  }
  const other = otherSlot(booted);
  if ((await boot.state(other)).kind === 'bad') {
    throw new OtaError('NO_GOOD_SLOT', `refusing to mark slot ${booted} bad: slot ${other} is bad too, and with no slot left U-Boot tries both again; install a release first`);
  }
  await boot.markBad(booted);
  log.warn(`slot ${booted} marked bad: the next boot runs slot ${await boot.primary()}`);
  return `slot ${booted} marked bad`;
}

/** States before arming: the booted slot still boots next (the install only took its target out of the boot order). */
const PRE_ARM = statesIn('install');

/** `rollback`: undo a trial in flight, or make the other (committed earlier) slot the one that boots. */
export async function rollback(session: Session): Promise<string> {
  const { boot, records } = session.device;
  const before = await session.record();
  if (machine[before.state].on.abandon !== undefined) {
    // The booted slot still boots next: abandon the update where it stands (reported, like any end).
    const result = await session.abandon('abandoned by ota-agent rollback before the trial boot was armed');
    if (result.kind === 'stopped') return `stopped in ${result.state}`;
    return `abandoned the install of release ${before.job?.version ?? '?'}; slot ${await boot.primary()} boots next as before`;
  }
  if (before.state !== 'idle') {
    const result = await session.resume();
    return result.kind === 'rest' ? `update ${result.record.last?.outcome ?? 'failed'}` : `stopped in ${result.state}`;
  }
  const booted = await boot.booted();
  const other = otherSlot(booted);
  const content = (await records.load()).slots[other];
  if (content === undefined) throw new OtaError('ROLLBACK_EMPTY', `slot ${other} holds no recorded image: nothing to roll back to`);
  await boot.markGood(other);
  await boot.markBad(booted);
  await records.setCommitted(other);
  const floor = await floorOf(session.device.config.dataDir);
  return `slot ${other} (release ${content.version ?? 'unknown'}) boots next: reboot to run it${floorNote(content.version, floor)}`;
}

/** The anti-rollback floor, or null when the trust store cannot tell (not provisioned yet, damaged: doctor says which). */
async function floorOf(dataDir: string): Promise<number | null> {
  return loadTrustState(dataDir).then((s) => s.installedVersion, (err: unknown) => {
    if (err instanceof OtaError) return null;
    throw err;
  });
}

/** True when the running release is under the floor (unknown counts once anything was installed). */
function belowFloor(version: number | null, floor: number | null): boolean {
  if (floor === null) return false;
  return version === null ? floor > 0 : version < floor;
}

/** What anti-rollback means for a device that runs `version` under the installed floor (after a rollback), or ''. */
function floorNote(version: number | null, floor: number | null): string {
  if (!belowFloor(version, floor)) return '';
  return `; the anti-rollback floor stays at release ${floor}: releases up to ${floor} (this one included) are refused, only a release above ${floor} installs`;
}

/** One slot in the status. */
export interface SlotStatus {
  readonly state: SlotState['kind'];
  readonly triesLeft: number;
  /** Release version written there, null when unknown. */
  readonly version: number | null;
  /** Its human version (`release --name`), null when it has none. */
  readonly name: string | null;
  readonly device: string;
  /** What is odd about the slot's image (it is the one the other slot ran before), or null. */
  readonly warning: string | null;
}

/** The status `ota-agent status --json` prints. */
export interface DeviceStatus {
  readonly deviceId: string;
  readonly hardware: string;
  /** The release channel followed (the trust state's, else the provisioned one, else `stable`). */
  readonly channel: string;
  readonly booted: Slot;
  readonly primary: Slot;
  /** Release running now (the booted slot's), null when unknown. */
  readonly version: number | null;
  /** Its human version (`release --name`), null when it has none. */
  readonly name: string | null;
  /** The anti-rollback floor: the highest release ever installed here (only a higher one installs); null when not read or the trust store cannot tell. */
  readonly floor: number | null;
  readonly committed: Slot | null;
  readonly slots: Readonly<Record<Slot, SlotStatus>>;
  /** The update machine's state (`idle` at rest). */
  readonly phase: JournalRecord['state'];
  /** The update in flight: its release, target slot and durable progress (artifact bytes). */
  readonly update: { readonly version: number | null; readonly target: string | null; readonly progressBytes: number } | null;
  /**
   * The last update that reached rest; its `version` a number as the others here; `payload` says whether it
   * installed a delta or the full image, `payloadReason` why.
   */
  readonly lastUpdate: {
    readonly outcome: string; readonly version: number | null; readonly error: string | null; readonly errorCode: string | null;
    readonly payload: PayloadKind | null; readonly payloadReason: PayloadReason | null;
    /** Files in /etc the device changed and the release changed too (the device's kept); absent: not checked (no overlay, no manifest). */
    readonly etcConflicts?: readonly string[];
  } | null;
}

/**
 * Read the status of `device`. `withFloor` reads the anti-rollback floor from the trust store, which
 * verifies the root's signatures: the CLI's `status` asks for it, the daemon's status document does not
 * (an idle daemon runs no signature code).
 */
export async function deviceStatus(device: Device, record: JournalRecord, withFloor = false): Promise<DeviceStatus> {
  const { boot, records, config } = device;
  const rec = await records.load();
  const one = async (s: Slot): Promise<SlotStatus> => {
    const st = await boot.state(s);
    return { state: st.kind, triesLeft: st.kind === 'bad' ? 0 : st.triesLeft, version: rec.slots[s]?.version ?? null, name: rec.slots[s]?.name ?? null, device: device.slots.device(s), warning: rec.slots[s]?.note ?? null };
  };
  const slots = { A: await one('A'), B: await one('B') };
  const booted = await boot.booted();
  const job = record.job;
  const last = record.last;
  const chosen = last === undefined ? undefined : await device.payloads.load();
  const payload = chosen !== undefined && last?.version !== undefined && chosen.version === last.version ? chosen : undefined;
  const etc = last?.version === undefined ? undefined : await device.etcMerges.loadFor(last.version);
  return {
    deviceId: config.deviceId, hardware: config.hardware, channel: await followedChannelIn(config.dataDir, config.channel), booted, primary: await boot.primary(),
    version: rec.slots[booted]?.version ?? null, name: rec.slots[booted]?.name ?? null,
    floor: withFloor ? await floorOf(config.dataDir) : null, committed: rec.committed ?? null, slots, phase: record.state,
    update: record.state === 'idle' || job === undefined ? null : { version: job.version ?? null, target: job.target ?? null, progressBytes: job.progress },
    lastUpdate: last === undefined ? null : {
      outcome: last.outcome, version: last.version ?? null, error: last.error ?? null, errorCode: last.errorCode ?? null, payload: payload?.payload ?? null, payloadReason: payload?.reason ?? null,
      ...(etc?.conflicts === undefined ? {} : { etcConflicts: etc.conflicts.paths }),
    },
  };
}

/** `release 3 (2.1.0)` of a slot or the device, `release unknown` without a version. */
function running(x: { readonly version: number | null; readonly name: string | null }): string {
  return x.version === null ? 'release unknown' : releaseLabel({ version: x.version, name: x.name ?? undefined });
}

/** The human form of a status. */
export function formatStatus(s: DeviceStatus): string {
  const slot = (n: Slot): string => {
    const x = s.slots[n];
    return `  slot ${n}: ${x.state}${x.state === 'bad' ? '' : ` (${x.triesLeft} tries left)`}, ${running(x)}, ${x.device}${n === s.booted ? ', booted' : ''}${n === s.primary ? ', primary' : ''}${x.warning === null ? '' : `; warning: ${x.warning}`}`;
  };
  const u = s.lastUpdate;
  const last = u === null ? 'none'
    : `${u.outcome}${u.version === null ? '' : ` (release ${u.version})`}${u.payload === null ? '' : `, ${u.payload === 'full' ? 'full image' : 'delta'} (${u.payloadReason ?? '?'})`}${u.error === null ? '' : `: ${u.error}`}${u.etcConflicts === undefined || u.etcConflicts.length === 0 ? '' : `; /etc conflicts (the device's versions kept): ${u.etcConflicts.join(', ')}`}`;
  return [
    `device ${s.deviceId} (${s.hardware}): running ${running(s)} from slot ${s.booted}; next boot: slot ${s.primary}`,
    slot('A'), slot('B'),
    `  channel: ${s.channel}`,
    ...(!belowFloor(s.version, s.floor) ? [] : [`  anti-rollback floor: release ${s.floor} (running ${s.version === null ? 'an unknown release' : `release ${s.version}`} below it after a rollback: only a release above ${s.floor} installs)`]),
    `  update: ${s.phase}${s.update === null ? '' : ` (release ${s.update.version ?? '?'} into slot ${s.update.target ?? '?'})`}`,
    `  last update: ${last}`,
    '',
  ].join('\n');
}
