/**
 * Scenario 4, power cuts, shared by power-cut-fat.test.ts and power-cut-nor.test.ts (one board
 * each, so the runner's two jobs cut both env placements at once). One provisioned device takes
 * release 2 over MQTT while QEMU is killed (QMP quit) at seeded moments: in the download, the slot
 * write, an env write (the agent arming, or U-Boot's own save at power-on) and the trial boot's
 * check and commit, plus purely random moments. Between cuts the env is read on the host with
 * fw_printenv and our codec, the simulator predicts the next boot, and before the board is powered
 * on again the slot it will boot is hashed against the release that slot must hold. The seed
 * (OTA_QEMU_SEED to replay) picks the plan; every phase is in it, and a cut whose phase has already
 * passed is dropped (an env write moves to U-Boot's save); one the guest's own reboot beat waits for the next boot.
 */
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BOOT_VARS } from '../../agent/src/boot/index.js';
import { cutPlan, progressOf, triggerIn, type Cut } from './power-cut-plan.js';
import { deltaSize, hostEnv, hostJournal, sha256File } from './power-cut-host.js';
import {
  GuestDevice, baseSlotImage, logDirFor, makeGuestRelease, noise, partitionDigest, simulateRuns, versionFiles,
  type GuestFleet, type GuestRelease, type ImageLayout, type Machine, type QemuBuild, type SerialEvent,
} from '../support/qemu/index.js';

/** What one boot of the scenario did: a row of the printed table. */
interface Row {
  boot: number;
  /** The planned cut: phase (trigger+delay), or none (the device runs until it rests or reboots itself). */
  planned: string;
  /** Where the journal said the update stood before this boot. */
  resumed: string;
  /** The agent's state at the cut, as the console showed it. */
  state: string;
  landed: string;
  /** The slot real U-Boot booted / the simulator's prediction. */
  slot: string;
  predicted: string;
  /** cut, reboot (the guest rebooted before the cut), missed (the trigger never came), rest. */
  outcome: string;
  /** When the artifact server sent this boot's first byte (seconds from power-on). */
  download: string;
  seconds: number;
}

type BootResult = Pick<Row, 'state' | 'outcome'>;

const STEP_TIMEOUT_MS = 120_000;
/** Node's start-up in the guest before a silently resumed state runs (measured 2.1-3.7 s). */
const AGENT_START_MS = 2_500;

/** The agent's update state as this boot's console last showed it. */
function agentState(events: readonly SerialEvent[], resumed: string): string {
  let state = resumed === 'before' || resumed === 'after' ? 'idle' : resumed === 'rebooting' ? 'checking' : resumed;
  let userspace = false;
  let script = false;
  for (const e of events) {
    if (e.kind === 'script-start') script = true;
    if (e.kind === 'script-slot') script = false;
    if (e.kind === 'init') userspace = true;
    if (e.kind === 'agent-step') state = e.to;
  }
  if (!userspace) return script ? 'uboot-script' : 'boot';
  return state;
}

/** The phase a cut landed in: from the agent's state at the cut and whether artifact bytes were still to come. */
function landedPhase(state: string, downloading: boolean, trial: boolean): string {
  // downloading: the agent's durable download position, read back after the cut, is short of the artifact's end
  if (state === 'uboot-script' || state === 'arming' || state === 'rebooting') return 'env write';
  if (state === 'installing') return downloading ? 'download' : 'slot write';
  if (state === 'verifyingSlot') return 'slot write';
  if (trial && ['checking', 'committing', 'reporting'].includes(state)) return 'commit';
  return state;
}

/** What a scenario run needs. */
export interface PowerCutOptions {
  layout: ImageLayout;
  fleet: GuestFleet;
  workDir: string;
  qemu: QemuBuild | undefined;
  seed: number;
  cuts: number;
  board: string;
}

/** What the run ended with, for the caller's report. */
export interface PowerCutResult { rows: Row[]; landed: Map<string, number>; boots: number; selfReboots: number; seconds: number }

/** The release, the device and the hashes every boot is checked against. */
async function prepare(o: PowerCutOptions): Promise<{ release: GuestRelease; device: GuestDevice; hashes: { A: string; B: string } }> {
  const base = baseSlotImage(o.layout, join(o.workDir, 'base.img'));
  // 3 MiB of new data in a delta: the agent reads it as fast as it writes the slot, so its download
  // position moves through most of the install (the server itself is done in milliseconds: socket buffers)
  const files = [...versionFiles(2), { path: '/opt/ota/payload.bin', content: noise(o.seed, 3 * 1024 * 1024) }];
  const release = await makeGuestRelease({ workDir: o.workDir, keysDir: o.fleet.keysDir, base, version: 2, files });
  const device = await GuestDevice.create({
    layout: o.layout, workDir: join(o.workDir, 'device'), logDir: (n) => logDirFor(`${o.board}-power-cut-boot-${n}`), fleet: o.fleet,
    // Five tries for the trial slot: the plan cuts the trial boot at most three times (U-Boot's save,
    // two commits). Five restarts of a state before the loop guard gives the update up: the plan aims
    // at most two cuts at a state, but a cut just after a step's line can come before its journal save,
    // and then counts as one more restart of the state before.
    agent: { tries: 5, maxSaves: 5 },
    ...(o.qemu === undefined ? {} : { qemu: o.qemu }),
  });
  return { release, device, hashes: { A: partitionDigest(device.disk, o.layout.partitions.A).sha256, B: sha256File(release.image) } };
}

/**
 * Between boots: the env read on the host, the simulator's prediction of the next boot, and the
 * slot it names hashed: A must hold release 1, and B the whole, verified release 2.
 */
async function beforeBoot(o: PowerCutOptions, device: GuestDevice, hashes: { A: string; B: string }, boot: number): Promise<{ env: Map<string, string> | null; predicted: string | null }> {
  const env = await hostEnv(device, `before boot ${boot}`);
  const predicted = simulateRuns(o.layout, env, 1).slots[0] ?? null;
  // One copy, torn by a cut: U-Boot (and the script, for uboot.env) finds no valid env and starts
  // from the default state, BOOT_ORDER "A B": slot A, which only ever holds release 1.
  if (env === null) assert.is(predicted, 'A', 'a lost env boots slot A');
  if (predicted === 'A') assert.is(partitionDigest(device.disk, o.layout.partitions.A).sha256, hashes.A, `boot ${boot} boots A: A still holds release 1`);
  if (predicted === 'B') {
    assert.is(partitionDigest(device.disk, o.layout.partitions.B).sha256, hashes.B,
      `boot ${boot} boots B: B must hold the whole, verified release 2 (env ${JSON.stringify([...(env ?? [])])})`);
  }
  return { env, predicted };
}

/** One boot: power on (publish release 2 in the first), then cut as `cut` says, or run until the device reboots itself or rests. */
async function oneBoot(o: PowerCutOptions, device: GuestDevice, release: GuestRelease, cut: Cut | undefined, resumed: string, first: boolean): Promise<BootResult & { m: Machine; firstByteMs: number | null }> {
  const id = device.deviceId;
  const watch = new DownloadWatch(o.fleet);
  const m = await device.boot();
  const statusFrom = o.fleet.statuses(id).length;
  try {
    if (first) {
      await m.waitFor('agent-mqtt', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.command === 'run' && e.state === 'connected' });
      await o.fleet.waitForStatus(id, (r) => r.phase === 'idle' && r.version === 1, STEP_TIMEOUT_MS);
      await o.fleet.publish(release);
      watch.rebase();
      const topics = (): string => [...new Set(o.fleet.observer.seen.map((x) => `${x.topic}${x.retain ? ' (retained)' : ''}`))].join(', ');
      // the agent takes the retained notice (its own waits start after this line)
      await m.waitFor('agent', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.text.startsWith('notice from') })
        .catch((err: unknown) => { throw new Error(`the agent did not take the notice; the broker carried: ${topics()}`, { cause: err }); });
    }
    const result = cut === undefined || triggerIn(cut.trigger, resumed) === 'later'
      ? await runFree(m, o.fleet, id, statusFrom, resumed)
      : await cutAt(m, cut, o.fleet, id, resumed, watch, o.layout.env.placement === 'file');
    return { ...result, m, firstByteMs: watch.firstAtMs };
  } catch (err) {
    console.log(m.failureReport());
    throw err;
  } finally {
    watch.stop();
    await m.kill();
  }
}

/** Runs the scenario; asserts after every boot, and on the end state. */
export async function runPowerCuts(o: PowerCutOptions): Promise<PowerCutResult> {
  const started = Date.now();
  const { release, device, hashes } = await prepare(o);
  const deltaBytes = deltaSize(release);
  const plan = cutPlan(o.seed, o.cuts);
  console.log(`# ${o.board}: release 2 (delta ${deltaBytes} bytes) and device ready in ${((Date.now() - started) / 1000).toFixed(1)} s; plan: ${plan.map((c) => `${c.phase}:${c.trigger}+${c.delayMs}`).join(', ')}`);
  const rows: Row[] = [];
  let fellBack = false;
  // boots that resumed the commit on A: the env was lost after the trial passed, and the commit reboots into B
  let recommits = 0;
  // boots of A during the trial after the env was lost: the agent arms the trial again and reboots into B
  let rearms = 0;
  let journal = await hostJournal(device, o.layout, o.workDir);
  const maxBoots = o.cuts * 2 + 10;
  for (let boot = 1; ; boot += 1) {
    assert.ok(boot <= maxBoots, `no convergence after ${maxBoots} boots (a boot loop?)`);
    const { env, predicted } = await beforeBoot(o, device, hashes, boot);
    const resumed = progressOf(journal);
    // A during the trial: U-Boot's counters ran out (a fall-back), or the env was lost and its defaults boot A (the agent arms again)
    if (predicted === 'A' && (resumed === 'rebooting' || resumed === 'checking')) {
      if (env === null) rearms += 1;
      else fellBack = true;
    }
    if (predicted === 'A' && resumed === 'committing') recommits += 1;
    const cut = plan[0];
    if (cut !== undefined && triggerIn(cut.trigger, resumed) === 'never') {
      // the update is past this trigger: an env write moves to U-Boot's save, anything else is dropped
      if (cut.phase === 'env write') cut.trigger = 'uboot-save';
      else plan.shift();
      console.log(`# ${o.board}: cut ${cut.phase} (${cut.trigger}) cannot come any more (journal at ${resumed}): ${cut.phase === 'env write' ? 'moved to U-Boot\'s save' : 'dropped'}`);
      boot -= 1;
      continue;
    }
    const bootStarted = Date.now();
    const { m, firstByteMs, ...result } = await oneBoot(o, device, release, cut, resumed, boot === 1);
    const planned = cut === undefined || result.outcome === 'rest' ? 'none' : triggerIn(cut.trigger, resumed) === 'later' ? `(${cut.phase}: a later boot)` : `${cut.phase} (${cut.trigger}+${cut.delayMs} ms)`;
    // a cut whose trigger the device came to rest before cannot come later either
    if (cut !== undefined && (result.outcome === 'cut' || result.outcome === 'missed')) plan.shift();
    journal = await hostJournal(device, o.layout, o.workDir);
    const chose = m.events.find((e) => e.kind === 'script-slot');
    const slot = chose?.kind === 'script-slot' ? chose.slot : null;
    // (no choice: the power went before the script chose)
    if (slot !== null || result.outcome !== 'cut') assert.is(slot, predicted, `boot ${boot}: real U-Boot chose what the simulator predicted`);
    if (env === null && slot !== null) {
      assert.ok(m.events.some((e) => e.kind === 'uboot-env-default' || (e.kind === 'script-message' && e.text.includes('no valid'))), 'U-Boot says it lost the env');
    }
    const trial = predicted === 'B' && env?.get(BOOT_VARS.trial) === 'B';
    const downloading = (journal?.job?.progress ?? 0) < deltaBytes;
    const row: Row = {
      boot, planned, resumed, ...result, landed: result.outcome === 'cut' ? landedPhase(result.state, downloading, trial) : '-',
      slot: slot ?? '-', predicted: predicted ?? '-', seconds: (Date.now() - bootStarted) / 1000,
      download: firstByteMs === null ? '-' : `+${((firstByteMs - bootStarted) / 1000).toFixed(1)}`,
    };
    rows.push(row);
    console.log(`# ${o.board}: ${formatRow(row)}`);
    if (result.outcome === 'rest') break;
  }
  await checkEnd(o, device, device.deviceId, fellBack);
  const selfReboots = rows.filter((r) => r.outcome === 'reboot').length;
  // one reboot into the trial; a fall-back adds the revert's, a trial armed again or a commit resumed on A the reboot into B: more is a loop
  assert.ok(selfReboots <= (fellBack ? 2 : 1) + rearms + recommits,
    `the device rebooted itself ${selfReboots} times (${rearms} trials armed again, ${recommits} commits resumed on A)`);
  const landed = new Map<string, number>();
  for (const r of rows) if (r.outcome === 'cut') landed.set(r.landed, (landed.get(r.landed) ?? 0) + 1);
  return { rows, landed, boots: rows.length, selfReboots, seconds: (Date.now() - started) / 1000 };
}

/** At rest: release 2 committed on B (or, after a trial that ran out of tries, release 1 on A with the failure reported). */
async function checkEnd(o: PowerCutOptions, device: GuestDevice, id: string, fellBack: boolean): Promise<void> {
  const end = await hostEnv(device, 'at rest');
  assert.ok(end !== null, 'the env is valid at rest');
  const retained = await o.fleet.retainedStatus(id, STEP_TIMEOUT_MS);
  assert.ok(retained.retain, 'the status document is retained');
  if (fellBack) {
    assert.equal([retained.report.version, retained.report.booted, retained.report.phase], [1, 'A', 'idle'], 'fell back: rests on release 1');
    assert.ok(retained.report.lastError !== null, 'fell back: the failure is reported');
  } else {
    assert.equal([end.get(BOOT_VARS.order), end.get(BOOT_VARS.trial)], ['B A', undefined], 'B committed and primary');
    assert.equal([retained.report.version, retained.report.booted, retained.report.phase, retained.report.lastError], [2, 'B', 'idle', null],
      'the retained status: release 2 on B, at rest, no error');
  }
}

/**
 * When the artifact server sent this boot's first byte: the download's start. (Its end cannot be
 * seen from here: the delta fits in the socket buffers between the server and the guest, so the
 * server is done within milliseconds, while the agent reads it as fast as it writes the slot. The
 * agent's own download position, its journal's durable progress, tells where a cut left it.)
 */
class DownloadWatch {
  firstAtMs: number | null = null;
  #start: number;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly fleet: GuestFleet) {
    this.#start = fleet.artifacts.bytesSent();
    this.#timer = setInterval(() => this.#sample(), 50);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Counts from now (`ota-fleet publish` fetches the artifact once to check it is served). */
  rebase(): void {
    this.#start = this.fleet.artifacts.bytesSent();
    this.firstAtMs = null;
  }

  #sample(): void {
    if (this.firstAtMs === null && this.fleet.artifacts.bytesSent() > this.#start) this.firstAtMs = Date.now();
  }
}

/**
 * Waits for `cut`'s trigger in this boot, then its delay, then cuts the power. 'reboot': the guest
 * rebooted first; 'missed': the device came to rest (an idle status) before the trigger.
 */
async function cutAt(m: Machine, cut: Cut, fleet: GuestFleet, id: string, resumed: string, watch: DownloadWatch, fatEnv: boolean): Promise<BootResult> {
  const how = triggerIn(cut.trigger, resumed);
  const from = fleet.statuses(id).length;
  const rest = { stop: false };
  const atRest = (async (): Promise<'rest'> => {
    while (!rest.stop && !fleet.statuses(id).slice(from).some((r) => r.report.phase === 'idle')) await sleep(250);
    return 'rest';
  })();
  try {
    const triggered = await Promise.race([atRest, waitTrigger(m, cut.trigger, how, watch, fatEnv).then(() => 'ok' as const)]);
    if (triggered === 'rest') return { state: agentState(m.events, resumed), outcome: 'missed' };
  } catch (err) {
    if (m.alive) throw err;
    return { state: agentState(m.events, resumed), outcome: 'reboot' };
  } finally {
    rest.stop = true;
  }
  // U-Boot's save to uboot.env takes a few ms (to flash: an erase of ~0.3 s): the delay shrinks to match
  await m.waitForExit(cut.trigger === 'uboot-save' && fatEnv ? Math.round(cut.delayMs / 5) : cut.delayMs).catch(() => undefined);
  if (!m.alive) return { state: agentState(m.events, resumed), outcome: 'reboot' };
  const state = agentState(m.events, resumed);
  await m.powerCut();
  return { state, outcome: 'cut' };
}

/** Resolves at `trigger` in this boot (see triggerIn); rejects when QEMU ends first. */
async function waitTrigger(m: Machine, trigger: string, how: ReturnType<typeof triggerIn>, watch: DownloadWatch, fatEnv: boolean): Promise<void> {
  if (trigger === 'download') {
    while (watch.firstAtMs === null) {
      if (!m.alive) throw new Error('QEMU ended before the download');
      await sleep(50);
    }
  } else if (trigger === 'uboot-save') await waitUbootSave(m, fatEnv);
  else if (trigger === 'trial-init') await m.waitFor('init', { timeoutMs: STEP_TIMEOUT_MS });
  else if (how === 'start') {
    await m.waitFor('init', { timeoutMs: STEP_TIMEOUT_MS });
    await sleep(AGENT_START_MS);
  } else if (trigger === 'installing') {
    await m.waitFor('agent', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.text.startsWith('installing release') });
  } else if (how === 'step') {
    await m.waitFor('agent-step', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.to === trigger });
  }
}

/** U-Boot about to save: the script has read uboot.env (FAT), or starts (flash: U-Boot saves its own env, erase first). */
async function waitUbootSave(m: Machine, fatEnv: boolean): Promise<void> {
  if (!fatEnv) {
    await m.waitFor('script-start', { timeoutMs: STEP_TIMEOUT_MS });
    return;
  }
  await m.waitFor('script-message', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.text.includes('state imported') || e.text.includes('no valid') });
}

/** No cut left: run until the guest reboots itself or the fleet sees the device at rest. */
async function runFree(m: Machine, fleet: GuestFleet, id: string, from: number, resumed: string): Promise<BootResult> {
  for (const until = Date.now() + STEP_TIMEOUT_MS * 2; Date.now() < until; await sleep(250)) {
    if (!m.alive) return { state: agentState(m.events, resumed), outcome: 'reboot' };
    const last = fleet.statuses(id).slice(from).at(-1)?.report;
    if (last !== undefined && last.phase === 'idle' && (last.version === 2 || last.lastError !== null)) {
      await m.powerCut();
      return { state: 'idle', outcome: 'rest' };
    }
  }
  throw new Error(`the device neither rested nor rebooted within ${STEP_TIMEOUT_MS * 2} ms\n${m.failureReport()}`);
}

function formatRow(r: Row): string {
  return [String(r.boot).padStart(4), r.planned.padEnd(34), r.resumed.padEnd(13), r.state.padEnd(13), r.landed.padEnd(10),
    `${r.slot}/${r.predicted}`.padEnd(7), r.outcome.padEnd(7), r.download.padEnd(9), r.seconds.toFixed(1)].join(' | ');
}

/** The table of cuts, as test output. */
export function printTable(board: string, seed: number, result: PowerCutResult): void {
  console.log(`# ${board}: seed ${seed} (replay: OTA_QEMU_SEED=${seed}); ${result.boots} boots, ${result.selfReboots} guest reboots, ${result.seconds.toFixed(0)} s`);
  console.log(`# ${['boot', 'planned cut'.padEnd(34), 'journal'.padEnd(13), 'agent state'.padEnd(13), 'landed in'.padEnd(10), 'U-B/sim', 'outcome', '1st byte', 's'].join(' | ')}`);
  for (const r of result.rows) console.log(`# ${formatRow(r)}`);
  console.log(`# ${board}: cuts per phase: ${[...result.landed].map(([p, n]) => `${p} ${n}`).join(', ')}`);
}
