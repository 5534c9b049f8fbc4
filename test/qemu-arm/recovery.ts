/**
 * The scenarios of issue 8 where an update does not simply succeed, end to end on emulated arm64
 * with real U-Boot and the agent in the guest (recovery-fat.test.ts: uboot.env on FAT, QEMU 7.2;
 * recovery-nor.test.ts: U-Boot's env in NOR flash, QEMU 10; the two files run side by side). Scenarios 2
 * and 3 (panic) run on both env placements: what they show is U-Boot's own saves and the agent's revert on
 * each. The hung init (3) differs from the panic only in what resets the board, and the offline install (6)
 * only in how the release arrives, neither in the env: each runs on one placement (hung on NOR, offline on
 * FAT), which keeps the two files near the same length and the emulated-ARM run within its budget:
 *  2. a required health check fails on B: the agent reverts, A boots, the failure is reported and
 *     the retained notice of the same release is not installed again;
 *  3. B never reaches userspace, twice: its /sbin/init dies, the kernel panics and panic=5 resets;
 *     or its init hangs with the hardware watchdog armed and the watchdog resets. U-Boot's counters
 *     run out and it boots A by itself; the agent on A reports the revert;
 *  6. offline recovery: the release on a second virtual disk (a USB stick), `ota-agent install`
 *     typed in the guest's shell, no network at all; B boots, health passes, commit, B stays.
 * At every boot the boot-script simulator predicts the slot real U-Boot chose; between boots the
 * env is read on the host with fw_printenv and with our codec, which must agree.
 * Scenario 5 (env copies damaged) is in env-corrupt*.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OFFLINE_FLEET_DETAIL } from '../../agent/src/device/index.js';
import { BOOT_VARS } from '../../agent/src/boot/index.js';
import { fleetOk } from '../support/fleet-rig.js';
import { MOSQUITTO } from '../support/mosquitto.js';
import { tempDir } from '../support/tools.js';
import {
  GUEST_OUTPUT_PREFIX, GuestDevice, QEMU_BOARDS, STEP_TIMEOUT_MS, agentConnected, agentLines, baseSlotImage, boardRuns, bootsToAgent, ensureImage, envState, installsOverMqtt,
  logDirFor, makeGuestRelease, makeStick, onBoard, openGuestFleet, postBootSteps, readEnvAgreeing, seconds, simulateRuns, stateVars,
  versionFiles, type Ext4File, type GuestFleet, type ImageLayout, type Machine, type QemuBuild,
} from '../support/qemu/index.js';
import { gateIn } from '../support/skip.js';


/** Release 2's own self-test, which the device's required health check runs: it fails. */
const FAILING_SELFTEST: Ext4File = {
  path: '/opt/ota/selftest', mode: 0o100755,
  content: '#!/bin/busybox sh\necho "selftest: release 2 cannot open its database" >&2\nexit 1\n',
};
/** A slot whose init dies at once: the kernel panics before any userspace runs. */
const BROKEN_INIT: Ext4File = { path: '/sbin/init', mode: 0o100755, content: '#!/bin/busybox sh\necho "broken init of release 2"\nexit 1\n' };
const HUNG_TEXT = 'release 2 init armed the watchdog and hangs';
/**
 * A slot whose init hangs (a stuck mount, a deadlocked service) after the hardware watchdog was armed,
 * as systemd arms it early: no panic, nothing resets the board but the watchdog (QEMU's i6300esb, 2 s).
 * busybox's watchdog daemon feeds it once and then not for an hour.
 */
const HUNG_INIT: Ext4File = {
  path: '/sbin/init', mode: 0o100755,
  content: `#!/bin/busybox sh\n/bin/busybox watchdog -T 2 -t 3600 /dev/watchdog\n/bin/busybox echo "${GUEST_OUTPUT_PREFIX}${HUNG_TEXT}"\nwhile true; do /bin/busybox sleep 3600; done\n`,
};

/** How a trial of B dies before userspace: what its slot holds, what ends each attempt on the console. */
interface DeadTrial {
  name: string;
  init: Ext4File;
  watchdog: boolean;
  /** Waits for the end of the `attempt`-th boot of B (the board then resets by itself). */
  ends: (m: Machine, attempt: number) => Promise<unknown>;
}

const PANIC: DeadTrial = {
  name: 'panic', init: BROKEN_INIT, watchdog: false,
  ends: (m, attempt) => m.waitFor('kernel-panic', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.boot === attempt }),
};
const HUNG: DeadTrial = {
  name: 'hung', init: HUNG_INIT, watchdog: true,
  ends: (m, attempt) => m.waitFor('guest-output', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.boot === attempt && e.text === HUNG_TEXT }),
};

/** What every scenario starts from. */
interface Setup { layout: ImageLayout; qemu: QemuBuild | undefined; work: string; base: string }

/** The state the simulator predicts for the next boot, with post-boot's refill of the tries of `slot` (a committed slot) applied. */
function predictedAfterPostBoot(device: GuestDevice, slot: 'A' | 'B'): Map<string, string> {
  return new Map([...device.predictNext().state, [BOOT_VARS.left[slot], '3']]);
}

async function failedHealthCheck(s: Setup, fleet: GuestFleet): Promise<void> {
  const release = await makeGuestRelease({ workDir: s.work, keysDir: fleet.keysDir, base: s.base, version: 2, files: [...versionFiles(2), FAILING_SELFTEST] });
  const device = await GuestDevice.create({
    layout: s.layout, workDir: join(s.work, 'device'), logDir: (n) => logDirFor(`${s.layout.board}-health-boot-${n}`), fleet,
    agent: { checks: [{ name: 'selftest', kind: 'command', argv: ['/opt/ota/selftest'] }] }, ...(s.qemu === undefined ? {} : { qemu: s.qemu }),
  });
  const id = device.deviceId;
  // boot 1: A installs release 2 into B, arms it, reboots
  await onBoard(await device.boot(), async (m) => {
    await bootsToAgent(m, 'A');
    await installsOverMqtt(m, fleet, id, release);
  });
  const armed = await readEnvAgreeing(device, 'after the install');
  assert.equal([armed.get(BOOT_VARS.order), armed.get(BOOT_VARS.trial)], ['B A', 'B'], 'B armed for a trial boot');
  const scriptSaves = device.predictNext().state;

  // boot 2: B boots, the required self-test fails, post-boot reverts (one env write) and reboots
  await onBoard(await device.boot(), async (m) => {
    const lines = await bootsToAgent(m, 'B', null);
    await m.waitFor('agent-reboot', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.command === 'post-boot' });
    await m.waitForExit(STEP_TIMEOUT_MS);
    const all = agentLines(m, 'post-boot');
    assert.equal(postBootSteps(m), ['checking-fail->reverting', 'reverting-reboot->rebootingBack'], 'post-boot fails the trial, reverts, reboots');
    assert.ok(all.some((l) => l.includes('health check selftest (required): FAILED') && l.includes('cannot open its database')),
      `the self-test of release 2 ran and failed:\n${lines.join('\n')}`);
    assert.ok(all.some((l) => l.includes('health check fleet (required): passed')), 'the fleet was reachable: only the self-test failed');
    assert.ok(all.some((l) => l.includes('reverted: slot B is out of the boot order')));
  });
  const reverted = envState(await readEnvAgreeing(device, 'after the revert'));
  // the script's own save at boot 2, then the revert's one write: B out of the order, no trial
  const expected = new Map(scriptSaves).set(BOOT_VARS.order, 'A').set(BOOT_VARS.left.B, '0');
  expected.delete(BOOT_VARS.trial);
  assert.equal(reverted, expected,
    'the env is what the script saved at boot 2 plus the revert (B marked bad), nothing else');

  // boot 3: A boots; post-boot finishes the revert (A good again) and records it; run reports the failure
  const from = fleet.observer.seen.length;
  await onBoard(await device.boot(), async (m) => {
    await bootsToAgent(m, 'A');
    assert.equal(postBootSteps(m), ['reverting-ok->reporting', 'reporting-ok->idle'], 'on A, post-boot finishes the revert and records it');
    await reportsRevertOnA(m, fleet, id, from, 'required health check failed on slot B', 'HEALTH_REQUIRED_FAILED');
  });
  const predicted = predictedAfterPostBoot(device, 'A');

  // boot 4: a power cycle with the notice still retained: A, no second install
  await onBoard(await device.boot(), async (m) => {
    await bootsToAgent(m, 'A');
    await agentConnected(m);
    await refusesRelease2(m);
    // the status published after the notice was offered: still release 1 on A, still reporting the failure
    await fleet.waitForStatus(id, (r) => r.phase === 'idle', STEP_TIMEOUT_MS, fleet.observer.seen.length);
    assert.is(await m.shell('cat /etc/ota/version', STEP_TIMEOUT_MS), '1', 'A runs release 1');
    assert.not.ok(m.events.some((e) => e.kind === 'agent-step'), 'no update step at all: release 2 is not installed again');
    await m.powerCut();
  });
  assert.equal(envState(await readEnvAgreeing(device, 'after boot 4')), predicted, 'real U-Boot saved what the simulator predicts (then post-boot refilled A)');
  const retained = await fleet.retainedStatus(id, STEP_TIMEOUT_MS);
  assert.equal([retained.report.version, retained.report.booted, retained.report.phase], [1, 'A', 'idle']);
  assert.match(retained.report.lastError ?? '', 'required health check failed on slot B', 'the retained status still carries the failure');
  assert.equal(retained.report.lastUpdate, { outcome: 'reverted', version: 2, error: 'required health check failed on slot B', errorCode: 'HEALTH_REQUIRED_FAILED' },
    'and names the last update: release 2, reverted, with its own reason');
  assert.equal(device.bootedSlots, ['A', 'B', 'A', 'A']);
  assert.equal(device.predictedSlots, device.bootedSlots, 'the boot-script simulator chose the slot real U-Boot chose at every boot');
}

/** Waits for the agent to refuse the retained notice of release 2 because that release failed on this device. */
async function refusesRelease2(m: Machine): Promise<void> {
  await m.waitFor('agent', {
    timeoutMs: STEP_TIMEOUT_MS,
    match: (e) => e.command === 'run' && e.text.startsWith('notice refused: ') && e.text.includes('release 2 already failed its health check on this device'),
  });
}

/**
 * On A after a revert: the agent connects and publishes (from the `from`-th message on) release 1 on A
 * at rest with `error` as lastError, refuses the retained notice of release 2; then the power goes.
 */
async function reportsRevertOnA(m: Machine, fleet: GuestFleet, id: string, from: number, error: string, errorCode: string): Promise<void> {
  await agentConnected(m);
  const report = await fleet.waitForStatus(id, (r) => r.phase === 'idle' && r.lastError !== null, STEP_TIMEOUT_MS, from);
  assert.equal([report.version, report.booted], [1, 'A']);
  assert.match(report.lastError ?? '', error);
  assert.equal(report.lastUpdate, { outcome: 'reverted', version: 2, error, errorCode }, 'the last update: release 2, reverted, with its own reason');
  await refusesRelease2(m);
  await m.powerCut();
}

async function neverReachesUserspace(s: Setup, fleet: GuestFleet, trial: DeadTrial): Promise<void> {
  const release = await makeGuestRelease({ workDir: s.work, keysDir: fleet.keysDir, base: s.base, version: 2, files: [...versionFiles(2), trial.init] });
  const device = await GuestDevice.create({
    layout: s.layout, workDir: join(s.work, 'device'), logDir: (n) => logDirFor(`${s.layout.board}-${trial.name}-boot-${n}`), fleet,
    deviceId: `qemu-3-${trial.name}`, watchdog: trial.watchdog, ...(s.qemu === undefined ? {} : { qemu: s.qemu }),
  });
  const id = device.deviceId;
  await onBoard(await device.boot(), async (m) => {
    await bootsToAgent(m, 'A');
    await installsOverMqtt(m, fleet, id, release);
  });
  const armed = await readEnvAgreeing(device, 'after the install');
  assert.equal([armed.get(BOOT_VARS.order), armed.get(BOOT_VARS.left.B), armed.get(BOOT_VARS.trial)], ['B A', '3', 'B'], 'B armed for a trial boot');

  // one QEMU run: each panic (panic=5) or the watchdog resets the board until U-Boot gives up on B and boots A
  const from = fleet.observer.seen.length;
  const slots = await onBoard(await device.boot({ exitOnReboot: false }), async (m) => {
    for (const attempt of [1, 2, 3]) {
      const chosen = await m.waitFor('script-slot', { timeoutMs: STEP_TIMEOUT_MS });
      assert.equal([chosen.boot, chosen.slot], [attempt, 'B'], `boot ${attempt} tries B`);
      await trial.ends(m, attempt);
    }
    await bootsToAgent(m, 'A');
    assert.not.ok(m.events.some((e) => (e.kind === 'init' && e.slot === 'B') || (e.kind === 'agent' && e.boot < 4)), 'B never reached its init or the agent');
    if (trial.watchdog) assert.not.ok(m.events.some((e) => e.kind === 'kernel-panic' || e.kind === 'kernel-reboot'), 'no panic, no reboot: only the watchdog reset the board');
    assert.equal(postBootSteps(m), ['checking-fellBack->reverting', 'reverting-ok->reporting', 'reporting-ok->idle'],
      'on A, post-boot sees the trial fell back, reverts and records it');
    await reportsRevertOnA(m, fleet, id, from, 'trial boot of slot B did not reach the agent: the bootloader booted A', 'TRIAL_BOOT_FAILED');
    return m.events.flatMap((e) => (e.kind === 'script-slot' ? [e.slot] : []));
  });
  const predicted = simulateRuns(s.layout, armed, slots.length);
  assert.equal(predicted.slots, ['B', 'B', 'B', 'A']);
  assert.equal(predicted.slots, slots, 'the boot-script simulator chooses the slots real U-Boot chose, panic after panic');
  const after = envState(await readEnvAgreeing(device, 'after the fallback'));
  // U-Boot's four saves, then the agent's revert: B out of the order, A good (its tries refilled), no trial
  const agentWrote: readonly string[] = [BOOT_VARS.order, BOOT_VARS.left.A, BOOT_VARS.trial];
  assert.equal(new Map([...after].filter(([k]) => !agentWrote.includes(k))), new Map([...stateVars(predicted.stored)].filter(([k]) => !agentWrote.includes(k))),
    'real U-Boot saved the counters the simulator predicts');
  assert.equal([after.get(BOOT_VARS.order), after.get(BOOT_VARS.left.A), after.get(BOOT_VARS.left.B), after.has(BOOT_VARS.trial)], ['A', '3', '0', false]);
  assert.equal(device.predictedSlots, ['A', 'B'], 'the simulator predicted the first slot of each QEMU run');
}

async function offlineRecovery(s: Setup): Promise<void> {
  const keysDir = join(s.work, 'keys');
  await fleetOk(s.work, ['keygen', '--out', keysDir]);
  const release = await makeGuestRelease({ workDir: s.work, keysDir, base: s.base, version: 2 });
  const stickMiB = Math.ceil(folderBytes(release.dir) / (1024 * 1024)) + 8;
  const stick = makeStick(join(s.work, 'stick.img'), stickMiB, release.dir, 'release-2');
  // no fleet: agent.json has no mqtt and no mirrors (an offline device): its required fleet check passes without a broker
  // (by design, docs/agent-config.md), so nothing is provisioned for it
  const device = await GuestDevice.create({
    layout: s.layout, workDir: join(s.work, 'device'), logDir: (n) => logDirFor(`${s.layout.board}-offline-boot-${n}`),
    rootBytes: readFileSync(join(keysDir, 'root.json')), deviceId: 'qemu-6', ...(s.qemu === undefined ? {} : { qemu: s.qemu }),
  });
  await onBoard(await device.boot({ forwards: [], stick }), async (m) => {
    await bootsToAgent(m, 'A');
    await m.waitFor('init-ready', { timeoutMs: STEP_TIMEOUT_MS });
    assert.is(await m.shell('ip -o -4 addr show | grep -c eth || true', STEP_TIMEOUT_MS), '0', 'no network interface at all');
    assert.is(await m.shell('mkdir -p /tmp/usb && mount -t vfat -o ro /dev/vdb /tmp/usb && ls /tmp/usb/release-2', STEP_TIMEOUT_MS).then((t) => t.split('\n').includes('notice.json')), true,
      'the stick mounts in the guest and holds the release');
    const out = await installFromStick(m);
    assert.match(out, /exit=0$/, `ota-agent install exits 0:\n${out}`);
    assert.not.ok(m.events.some((e) => (e.kind === 'agent' || e.kind === 'agent-exit') && e.command === 'run'), 'an offline device runs no `ota-agent run`');
    const env = await m.shell('fw_printenv -c /etc/fw_env.config BOOT_ORDER OTA_TRIAL', STEP_TIMEOUT_MS);
    assert.equal(env.split('\n'), ['BOOT_ORDER=B A', 'OTA_TRIAL=B'], "install armed B: the guest's fw_printenv reads it");
    m.send('reboot -f\n');
    await m.waitFor('kernel-reboot', { timeoutMs: STEP_TIMEOUT_MS });
    await m.waitForExit(STEP_TIMEOUT_MS);
  });
  const armed = await readEnvAgreeing(device, 'after the offline install');
  assert.equal([armed.get(BOOT_VARS.order), armed.get(BOOT_VARS.left.B), armed.get(BOOT_VARS.trial)], ['B A', '3', 'B'], 'B armed for a trial boot');

  // boot 2 (stick removed): B boots, health passes without a broker, commit
  await onBoard(await device.boot({ forwards: [] }), async (m) => {
    const lines = await bootsToAgent(m, 'B');
    assert.equal(postBootSteps(m), ['checking-ok->committing', 'committing-ok->reporting', 'reporting-ok->idle'], 'post-boot checks, commits, reports');
    assert.ok(lines.some((l) => l.includes('committed slot B (release 2)')), `post-boot commits B:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => l.includes(`health check fleet (required): passed: ${OFFLINE_FLEET_DETAIL}`)), 'the fleet check passes, saying no broker was reached');
    await m.waitFor('init-ready', { timeoutMs: STEP_TIMEOUT_MS });
    assert.is(await m.shell('cat /etc/ota/version', STEP_TIMEOUT_MS), '2', 'slot B runs release 2');
    const status = await m.shell('node /opt/ota/ota-agent.mjs --config /data/agent.json status --json | tr -d " "', STEP_TIMEOUT_MS);
    for (const part of ['"booted":"B"', '"version":2', '"committed":"B"', '"outcome":"installed"']) assert.ok(status.includes(part), `status --json has ${part}:\n${status}`);
    await m.powerCut();
  });
  const predicted = predictedAfterPostBoot(device, 'B');

  // boot 3: a power cycle; B stays
  await onBoard(await device.boot({ forwards: [] }), async (m) => {
    await bootsToAgent(m, 'B');
    await m.powerCut();
  });
  assert.equal(envState(await readEnvAgreeing(device, 'after boot 3')), predicted, 'real U-Boot saved what the simulator predicts (then post-boot refilled B)');
  assert.equal(device.bootedSlots, ['A', 'B', 'B']);
  assert.equal(device.predictedSlots, device.bootedSlots, 'the boot-script simulator chose the slot real U-Boot chose at every boot');
}

/** Runs `ota-agent install` on the stick's release (an offline device runs no `ota-agent run` beside it). */
function installFromStick(m: Machine): Promise<string> {
  return m.shell('MALLOC_ARENA_MAX=1 node /opt/ota/ota-agent.mjs --config /data/agent.json --log-format text install /tmp/usb/release-2; echo exit=$?', 300_000);
}

/** Bytes of the files under `dir` (du). */
function folderBytes(dir: string): number {
  return Number(/^(\d+)/.exec(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }))?.[1]);
}

/** A scenario a recovery file can run (see the header for which runs where). */
export type RecoveryScenario = 'health' | 'panic' | 'hung' | 'offline';

/** Registers and runs the `scenarios` (of 2, 3 and 6) on QEMU_BOARDS[index]. */
export function recoverySuite(index: number, scenarios: readonly RecoveryScenario[]): void {
  const c = QEMU_BOARDS[index];
  if (c === undefined) throw new Error(`no board ${index}`);
  const temp = tempDir('ota-qemu-recovery-');
  process.on('exit', () => temp.cleanup());
  const s = suite(`recovery, ${c.title}`);
  const { skip, qemu } = boardRuns(c, ['socat', MOSQUITTO]);
  let layout: ImageLayout | undefined;
  let base: string | undefined;
  s.before(() => {
    if (skip !== undefined) return;
    layout = ensureImage(c.board);
    base = baseSlotImage(layout, join(temp.dir, 'base.img'));
  });
  const t = gateIn(s, skip, `recovery, ${c.title}`);
  const setup = (name: string): Setup => {
    if (layout === undefined || base === undefined) throw new Error(`the image of ${c.board} was not built`);
    // fw_env.config cannot name a path with a space
    return { layout, qemu, work: join(temp.dir, name.replace(/\W+/g, '-')), base };
  };
  const timed = async (name: string, body: () => Promise<void>): Promise<void> => {
    const started = Date.now();
    await body();
    console.log(`# ${c.board}: ${name}: ${seconds(started)} s`);
  };
  const withFleet = async (name: string, body: (s: Setup, fleet: GuestFleet) => Promise<void>): Promise<void> => {
    const setupOf = setup(name);
    const fleet = await openGuestFleet(join(setupOf.work, 'fleet'));
    try {
      await timed(name, () => body(setupOf, fleet));
    } finally {
      await fleet.close();
    }
  };

  const run = (which: RecoveryScenario, name: string, body: () => Promise<void>): void => {
    if (scenarios.includes(which)) t(name, body);
  };
  run('health', 'scenario 2: a required health check fails on B; the agent reverts, A boots, the failure is reported, no second install', () =>
    withFleet('scenario 2', failedHealthCheck));
  run('panic', 'scenario 3: B panics before userspace; U-Boot falls back to A by itself; the agent on A reports the revert', () =>
    withFleet('scenario 3', (setupOf, fleet) => neverReachesUserspace(setupOf, fleet, PANIC)));
  run('hung', 'scenario 3, hung init: B hangs with the watchdog armed; each watchdog reset spends a try, then A; the agent on A reports the revert', () =>
    withFleet('scenario 3 hung', (setupOf, fleet) => neverReachesUserspace(setupOf, fleet, HUNG)));
  run('offline', 'scenario 6: offline recovery from a USB stick with ota-agent install, no network; B boots, commits, stays', () =>
    timed('scenario 6', () => offlineRecovery(setup('scenario 6'))));
  s.run();
}
