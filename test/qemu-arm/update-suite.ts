/**
 * The uvu suite of scenario 1 for one board (update.test.ts runs it on QEMU_BOARDS,
 * update-arm32.test.ts on ARM32_BOARD).
 * A good update, end to end on an emulated board with real U-Boot and the agent
 * (the device bundle, on Debian's Node 18) in the guest: slot A gets the signed notice over
 * MQTT from a broker on 127.0.0.1, downloads the delta from the fleet's artifact server through
 * guestfwd, writes slot B, arms it and reboots (busybox `reboot -f`); U-Boot boots B; the
 * post-boot health check (with its fleet round-trip) passes and commits; after a power cycle
 * B boots again. Then the env is lost at rest (its only copy damaged, as a cut during U-Boot's
 * save leaves it): U-Boot's defaults boot A, the agent restores B as a trial, and B commits again. Between boots (a guest reboot ends QEMU) the env is read on the host with
 * fw_printenv and with our codec, and the boot-script simulator predicts each boot's slot.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BOOT_VARS } from '../../agent/src/boot/index.js';
import { MOSQUITTO } from '../support/mosquitto.js';
import { tempDir } from '../support/tools.js';
import {
  GuestDevice, QEMU_HARDWARE, STEP_TIMEOUT_MS, agentConnected, agentLines, baseSlotImage, boardRuns, bootsToAgent, ensureImage, envState, installsOverMqtt, logDirFor,
  makeGuestRelease, onBoard, openGuestFleet, postBootSteps, readEnvAgreeing as readEnv, seconds, type BoardCase, type ImageLayout,
} from '../support/qemu/index.js';
import { gateIn } from '../support/skip.js';

/** Registers and runs scenario 1 on the board `c`. */
export function updateSuite(c: BoardCase): void {
  const temp = tempDir('ota-qemu-update-');
  process.on('exit', () => temp.cleanup());
  const s = suite(`update, ${c.title}`);
  const { skip, qemu } = boardRuns(c, ['socat', MOSQUITTO]);
  let layout: ImageLayout | undefined;
  s.before(() => {
    if (skip !== undefined) return;
    const started = Date.now();
    layout = ensureImage(c.board);
    console.log(`# ${c.board}: image ready in ${seconds(started)} s`);
  });
  const t = gateIn(s, skip, `update, ${c.title}`);

  t('a good update over MQTT and HTTP: A installs release 2 into B, U-Boot boots B, health passes, commit, B stays; the env lost at rest, the agent restores B', async () => {
    if (layout === undefined) throw new Error(`the image of ${c.board} was not built`);
    const started = Date.now();
    const work = join(temp.dir, c.board);
    const fleet = await openGuestFleet(join(work, 'fleet'));
    try {
      const base = baseSlotImage(layout, join(work, 'base.img'));
      const release = await makeGuestRelease({ workDir: work, keysDir: fleet.keysDir, base, version: 2, hardware: QEMU_HARDWARE[layout.arch] });
      const device = await GuestDevice.create({
        layout, workDir: join(work, 'device'), logDir: (n) => logDirFor(`${c.board}-update-boot-${n}`),
        fleet, ...(qemu === undefined ? {} : { qemu }),
      });
      const id = device.deviceId;
      console.log(`# ${c.board}: fleet, release 2 and device ready in ${seconds(started)} s (broker ${fleet.broker.name})`);

      // boot 1: slot A, the agent connects, takes the notice, installs, arms B and reboots
      const timing = await onBoard(await device.boot(), async (m) => {
        const poweredOn = Date.now();
        const postBoot = await bootsToAgent(m, 'A');
        assert.not.ok(postBoot.some((l) => l.includes('update:')), 'a normal boot: post-boot moves no update');
        const install = await installsOverMqtt(m, fleet, id, release);
        assert.ok(m.events.some((e) => e.kind === 'agent' && e.text.includes('kind=delta')), 'the agent chose the delta');
        return { poweredOn, connected: install.connectedMs, installed: install.rebootMs };
      });
      const imageBytes = statSync(release.image).size;
      assert.ok(fleet.artifacts.bytesSent() < imageBytes / 100, `the server sent ${fleet.artifacts.bytesSent()} bytes: the delta, not the ${imageBytes}-byte image`);
      // (`rebooting` may never leave the guest: `reboot -f` does not wait for the publish, unlike a systemd shutdown)
      const phases = fleet.statuses(id).map((r) => r.report.phase);
      for (const phase of ['verifying', 'installing', 'verifyingSlot', 'arming']) assert.ok(phases.includes(phase), `status document in phase ${phase} (seen ${phases.join(',')})`);
      const armed = await readEnv(device, 'after the install');
      assert.equal([armed.get(BOOT_VARS.order), armed.get(BOOT_VARS.left.B), armed.get(BOOT_VARS.trial)], ['B A', '3', 'B'], 'B armed for a trial boot');

      // boot 2: U-Boot tries B; post-boot runs the health check (fleet round-trip) and commits
      await onBoard(await device.boot(), async (m) => {
        const postBoot = await bootsToAgent(m, 'B');
        // the journal says `rebooting`: post-boot resumes into the health check, then commits
        assert.equal(postBootSteps(m), ['checking-ok->committing', 'committing-ok->reporting', 'reporting-ok->idle'], 'post-boot checks, commits, reports');
        assert.ok(postBoot.some((l) => l.includes('committed slot B (release 2)')), 'post-boot commits B');
        assert.ok(postBoot.some((l) => l.includes('health check fleet (required): passed')), 'the required fleet round-trip passed');
        await agentConnected(m);
        assert.is(await m.shell('cat /etc/ota/version', STEP_TIMEOUT_MS), '2', 'slot B runs release 2');
        await fleet.waitForStatus(id, (r) => r.phase === 'idle' && r.version === 2 && r.booted === 'B', STEP_TIMEOUT_MS);
        await m.powerCut();
      });
      const committed = await readEnv(device, 'after the commit');
      assert.equal([committed.get(BOOT_VARS.order), committed.get(BOOT_VARS.left.B), committed.get(BOOT_VARS.trial)], ['B A', '3', undefined], 'B committed');

      // boot 3: a power cycle; B boots again (the simulator says the same, and what the script saves)
      const predicted = device.predictNext();
      await onBoard(await device.boot(), async (m) => {
        await bootsToAgent(m, 'B');
        await agentConnected(m);
        await fleet.waitForStatus(id, (r) => r.phase === 'idle' && r.version === 2 && r.booted === 'B' && r.lastError === null, STEP_TIMEOUT_MS,
          fleet.observer.seen.length);
        await m.powerCut();
      });
      const after = envState(await readEnv(device, 'after boot 3'));
      // post-boot gives the committed slot back the try the script spent
      assert.is(predicted.state.get(BOOT_VARS.left.B), '2', 'the simulator spends a try of B');
      assert.equal(after, new Map([...predicted.state, [BOOT_VARS.left.B, '3']]), 'real U-Boot saved what the simulator predicts (then post-boot refilled B)');

      // boot 4: the env lost at rest (a power cut tore U-Boot's save of its only copy): U-Boot's defaults boot A.
      // post-boot finds B committed in its records, bootable but second, arms a trial of B and reboots
      device.damageEnv();
      await onBoard(await device.boot(), async (m) => {
        await bootsToAgent(m, 'A', null);
        await m.waitFor('agent-reboot', { timeoutMs: STEP_TIMEOUT_MS });
        await m.waitFor('kernel-reboot', { timeoutMs: STEP_TIMEOUT_MS });
        await m.waitForExit(STEP_TIMEOUT_MS);
        const postBoot = agentLines(m, 'post-boot');
        assert.ok(postBoot.some((l) => l.includes('the boot env lost the commit of slot B (release 2)')), `post-boot names the lost commit:\n${postBoot.join('\n')}`);
        assert.equal(postBootSteps(m), ['idle-restore->arming', 'arming-ok->rebooting'], 'post-boot arms a trial of the committed slot');
      });
      const rearmed = await readEnv(device, 'after the restore');
      assert.equal([rearmed.get(BOOT_VARS.order), rearmed.get(BOOT_VARS.trial)], ['B A', 'B'], 'B armed again');

      // boot 5: the trial boot of B passes its health check and commits again
      await onBoard(await device.boot(), async (m) => {
        await bootsToAgent(m, 'B');
        assert.equal(postBootSteps(m), ['checking-ok->committing', 'committing-ok->reporting', 'reporting-ok->idle'], 'post-boot checks, commits, reports');
        await agentConnected(m);
        await fleet.waitForStatus(id, (r) => r.phase === 'idle' && r.version === 2 && r.booted === 'B' && r.lastError === null, STEP_TIMEOUT_MS,
          fleet.observer.seen.length);
        await m.powerCut();
      });
      const restored = await readEnv(device, 'after boot 5');
      assert.equal([restored.get(BOOT_VARS.order), restored.get(BOOT_VARS.left.B), restored.get(BOOT_VARS.trial)], ['B A', '3', undefined], 'B committed again');
      assert.equal(device.bootedSlots, ['A', 'B', 'B', 'A', 'B']);
      assert.equal(device.predictedSlots, device.bootedSlots, 'the boot-script simulator chose the slot real U-Boot chose at every boot');

      const retained = await fleet.retainedStatus(id, STEP_TIMEOUT_MS);
      assert.ok(retained.retain, 'the status document is retained');
      assert.equal([retained.report.version, retained.report.booted, retained.report.phase, retained.report.lastError], [2, 'B', 'idle', null]);
      const end = Date.now();
      console.log(`# ${c.board}: power on to agent connected ${seconds(timing.poweredOn, timing.connected)} s; notice to reboot (install) `
        + `${seconds(timing.connected, timing.installed)} s; scenario total ${seconds(started, end)} s`);
    } finally {
      await fleet.close();
    }
  });

  s.run();
}
