/**
 * The uvu suite of scenario 1 on the systemd slot (build-image.sh OTA_QEMU_INIT=systemd) for one board
 * (systemd.test.ts: uboot.env on FAT, the whole of it; systemd-nor.test.ts: env in NOR flash, up to the rollback).
 * The slot boots through the package's pre-init (init=/usr/lib/ota-agent/ota-init: data partition, /etc and
 * /var overlays), then Debian's systemd, read-only; the agent is installed from its .deb and run by the
 * shipped units with their sandbox (agent/systemd); guest/systemd/ota-test-console only forwards their
 * journal to the serial console and serves a shell. Boot 1 (A): `ota-agent provision` in the guest, the
 * health unit run again, the operator's changes to /etc (systemd-etc.ts), then an update over MQTT (delta),
 * `systemctl reboot`. Boot 2 (B): the health unit checks and commits; A's /etc changes are on B, the
 * release's own /etc change too; then `ota-agent rollback`, read back in the env. With `full` (the FAT
 * board): boot 3 (A) shows A's view again; the root is remounted read-write and written, then release 3 (a
 * delta from release 1) still installs, through the full image, and boot 4 (B) commits it; the status says
 * `payload: full, base-drifted`. Without it (the NOR board) the file ends after the rollback: boots 3 and 4
 * test the /etc overlays and the payload choice, which do not depend on where the env is. Between boots
 * the env is read on the host with fw_printenv and our codec, and the boot-script simulator predicts each boot's slot.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BOOT_VARS } from '../../agent/src/boot/index.js';
import { MOSQUITTO } from '../support/mosquitto.js';
import { tempDir } from '../support/tools.js';
import {
  GuestDevice, QEMU_HARDWARE, STEP_TIMEOUT_MS, SYSTEMD_GUEST_PATHS, agentLines, baseSlotImage, boardRuns, ensureImage, installsOverMqtt,
  logDirFor, makeGuestRelease, onBoard, openGuestFleet, postBootSteps, readEnvAgreeing as readEnv, repoRoot, seconds, type BoardCase, type GuestFleet,
  type ImageLayout, type Machine,
} from '../support/qemu/index.js';
import { gateIn } from '../support/skip.js';
import { keptOnB, operatorChangesOnA, rollsBack, showsA } from './systemd-etc.js';

/** A whole systemd boot, or a full slot image written in the guest: minutes under TCG on a shared machine. */
const SYSTEMD_STEP_MS = 4 * STEP_TIMEOUT_MS;
const POST_BOOT_COMMITS = ['checking-ok->committing', 'committing-ok->reporting', 'reporting-ok->idle'];
const REBOOT = 'systemctl reboot';

/** Polls `m.events` until `done` holds: the journal forwarder may print a unit's exit before its last lines. */
async function until(m: Machine, what: string, done: () => boolean, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline || !m.alive) throw new Error(`waiting for ${what}: not seen\n${m.failureReport()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits for the boot script to choose `slot` and the slot's systemd to start the test console. */
async function bootsTo(m: Machine, slot: string): Promise<void> {
  assert.is((await m.waitFor('script-slot', { timeoutMs: STEP_TIMEOUT_MS })).slot, slot, `the boot script chooses ${slot}`);
  assert.is((await m.waitFor('kernel-cmdline', { timeoutMs: STEP_TIMEOUT_MS })).slot, slot, 'the kernel gets ota.slot= of the chosen slot');
  const init = await m.waitFor('init', { timeoutMs: SYSTEMD_STEP_MS });
  assert.is(init.slot, slot, 'the slot reads the same slot');
  assert.match(init.line, 'data=mounted pre-init=ok init=systemd', 'the pre-init mounted the data partition and the overlays');
}

/**
 * Waits for the `nth` end of ota-agent-health.service in this boot, well (`ok`) or not, and returns post-boot's
 * lines. By count, not by the event cursor: a shell command's answer may come after the end it caused.
 */
async function healthUnitEnds(m: Machine, ok: boolean, nth = 1): Promise<string[]> {
  const exits = (): number[] => m.events.flatMap((e) => (e.kind === 'agent-exit' && e.command === 'post-boot' ? [e.code] : []));
  await until(m, `end ${nth} of ota-agent-health.service`, () => exits().length >= nth, SYSTEMD_STEP_MS);
  const code = exits()[nth - 1];
  assert.is(code === 0, ok, `ota-agent-health.service ends with ${String(code)}:\n${agentLines(m, 'post-boot').join('\n')}`);
  return agentLines(m, 'post-boot');
}

/** Boot 2 or 3: the health unit checks the trial boot of `slot` with `version`, commits, and the agent unit reports it. */
async function commitsTrial(m: Machine, fleet: GuestFleet, id: string, slot: string, version: number): Promise<void> {
  await bootsTo(m, slot);
  await healthUnitEnds(m, true);
  await until(m, 'post-boot commits', () => POST_BOOT_COMMITS.every((s) => postBootSteps(m).includes(s)));
  assert.equal(postBootSteps(m), POST_BOOT_COMMITS, 'the health unit checks, commits, reports');
  await until(m, 'the commit line', () => agentLines(m, 'post-boot').some((l) => l.includes(`committed slot ${slot} (release ${version})`)));
  assert.ok(agentLines(m, 'post-boot').some((l) => l.includes('health check fleet (required): passed')), 'the required fleet round-trip passed');
  await runsIdle(m, fleet, id, slot, version);
}

/** ota-agent.service connects and reports `slot` running `version`, idle. */
async function runsIdle(m: Machine, fleet: GuestFleet, id: string, slot: string, version: number): Promise<void> {
  // (not agentConnected: its cursor would hide this connection from installsOverMqtt)
  await until(m, 'ota-agent.service connects', () => m.events.some((e) => e.kind === 'agent-mqtt' && e.command === 'run' && e.state === 'connected'));
  assert.is(await m.shell('cat /etc/ota/version', STEP_TIMEOUT_MS), String(version), `slot ${slot} runs release ${version}`);
  await fleet.waitForStatus(id, (r) => r.phase === 'idle' && r.version === version && r.booted === slot, STEP_TIMEOUT_MS);
}

/**
 * Unprovisioned, ota-agent.service ran once, exited 78 (no agent config) and stays failed: no restart
 * every RestartSec= (RestartPreventExitStatus=78). Polled in the guest: the unit starts after the health
 * unit, and Node takes seconds to start under TCG.
 */
async function waitsUnprovisioned(m: Machine): Promise<void> {
  const show = 'systemctl show -p ActiveState -p ExecMainStatus -p NRestarts ota-agent.service';
  const out = await m.shell(`for i in $(seq 1 240); do [ "$(systemctl show -P ActiveState ota-agent.service)" = failed ] && break; sleep 1; done; sleep 6; ${show}`, SYSTEMD_STEP_MS);
  const props = new Map(out.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal([props.get('ActiveState'), props.get('ExecMainStatus'), props.get('NRestarts')], ['failed', '78', '0'],
    `ota-agent.service exits 78 unprovisioned and is not restarted (6 s after it failed, past RestartSec=5):\n${out}`);
}

/** The units in the guest are the repository's, sandboxed as shipped, and the agent unit runs. */
async function unitsAsShipped(m: Machine): Promise<void> {
  for (const unit of ['ota-agent.service', 'ota-agent-health.service']) {
    const shipped = createHash('sha256').update(readFileSync(join(repoRoot, 'agent', 'systemd', unit))).digest('hex');
    assert.match(await m.shell(`sha256sum /lib/systemd/system/${unit}`, STEP_TIMEOUT_MS), shipped, `${unit} is agent/systemd/${unit}`);
    assert.is(await m.shell(`systemctl show -P ProtectSystem ${unit}`, STEP_TIMEOUT_MS), 'strict', `${unit} runs with ProtectSystem=strict`);
  }
  assert.is(await m.shell('systemctl is-active ota-agent.service', STEP_TIMEOUT_MS), 'active', 'ota-agent.service runs');
}

/** Registers and runs scenario 1 (and with `full`, A's view after the rollback and the drifted-base update) on the systemd slot of board `c`. */
export function systemdSuite(c: BoardCase, o: { full: boolean }): void {
  const temp = tempDir('ota-qemu-systemd-');
  process.on('exit', () => temp.cleanup());
  const s = suite(`systemd slot, ${c.title}`);
  const { skip, qemu } = boardRuns(c, ['socat', 'systemd-sysusers', 'ssh-keygen', MOSQUITTO]);
  let layout: ImageLayout | undefined;
  s.before(() => {
    if (skip !== undefined) return;
    const started = Date.now();
    layout = ensureImage(c.board, 'systemd');
    console.log(`# ${c.board} (systemd): image ready in ${seconds(started)} s; disk ${layout.partitions.data.offsetBytes + layout.partitions.data.sizeBytes} bytes, slot ${layout.partitions.A.sizeBytes} bytes`);
  });
  const t = gateIn(s, skip, `systemd slot, ${c.title}`);

  t(`provision in the guest, an update over MQTT by the shipped units, the health unit commits, a rollback${o.full ? "; A's view again, and a drifted root still updates, through the full image" : ''}`, async () => {
    if (layout === undefined) throw new Error(`the image of ${c.board} was not built`);
    const started = Date.now();
    const work = join(temp.dir, c.board);
    const hardware = QEMU_HARDWARE[layout.arch];
    const fleet = await openGuestFleet(join(work, 'fleet'));
    try {
      const base = baseSlotImage(layout, join(work, 'base.img'));
      const release2 = await makeGuestRelease({ workDir: work, keysDir: fleet.keysDir, base, version: 2, hardware });
      const device = await GuestDevice.create({
        layout, workDir: join(work, 'device'), logDir: (n) => logDirFor(`${c.board}-systemd-boot-${n}`), fleet, ...(qemu === undefined ? {} : { qemu }),
      });
      const id = device.deviceId;

      // boot 1: slot A unprovisioned (the units fail), `ota-agent provision`, the health unit again, the update
      const onA = await onBoard(await device.boot(), async (m) => {
        const poweredOn = Date.now();
        await bootsTo(m, 'A');
        const initMs = Date.now();
        await healthUnitEnds(m, false);  // no config yet
        await waitsUnprovisioned(m);
        const provisioned = await m.shell(`ota-agent provision --from ${SYSTEMD_GUEST_PATHS.provisionFile}`, SYSTEMD_STEP_MS);
        assert.match(provisioned, `provisioned device ${id}`);
        // both in one transaction: the health unit runs, then the agent starts (After=); the agent's lock
        // keeps them apart otherwise
        await m.shell('systemctl restart ota-agent-health.service ota-agent.service', SYSTEMD_STEP_MS);
        await healthUnitEnds(m, true, 2);
        await m.shell('systemctl is-system-running --wait', SYSTEMD_STEP_MS);
        console.log(`# ${c.board}: ${await m.shell('systemd-analyze time', STEP_TIMEOUT_MS)}`);
        await unitsAsShipped(m);
        const state = await operatorChangesOnA(m);
        const install = await installsOverMqtt(m, fleet, id, release2, { rebootCommand: REBOOT, installTimeoutMs: SYSTEMD_STEP_MS });
        assert.ok(m.events.some((e) => e.kind === 'agent' && e.text.includes('kind=delta')), 'the agent chose the delta');
        // the release's /etc manifest (ota-fleet release) was compared with A's: the device's changes and the release's do not meet
        assert.ok(agentLines(m, 'run').some((l) => l.includes("/etc: the device's changes carried to slot B, no conflict with release 2")),
          `the install carried /etc to B and checked it against release 2's manifest:\n${agentLines(m, 'run').join('\n')}`);
        console.log(`# ${c.board}: power on to console ${seconds(poweredOn, initMs)} s; notice to reboot (delta) ${seconds(install.connectedMs, install.rebootMs)} s`);
        return state;
      });
      assert.ok(fleet.artifacts.bytesSent() < statSync(release2.image).size / 100, 'the server sent the delta, not the image');
      const armed = await readEnv(device, 'after the install');
      assert.equal([armed.get(BOOT_VARS.order), armed.get(BOOT_VARS.left.B), armed.get(BOOT_VARS.trial)], ['B A', '3', 'B'], 'B armed for a trial boot');

      // boot 2: U-Boot tries B; the health unit checks (fleet round-trip) and commits; A's /etc on B; the rollback
      await onBoard(await device.boot(), async (m) => {
        await commitsTrial(m, fleet, id, 'B', 2);
        await keptOnB(m, onA, 2);
        assert.equal(lastUpdateOf(fleet, id)?.['etcConflicts'], [], 'the status reports /etc checked, no conflict');
        await rollsBack(m);
      });
      const rolledBack = await readEnv(device, 'after the rollback');
      assert.equal([rolledBack.get(BOOT_VARS.order)?.split(' ')[0], rolledBack.get(BOOT_VARS.trial)], ['A', undefined], 'A boots next, no trial');

      // boot 3 (full): A's view again; the root written and release 3 installed through the full image
      if (o.full) await onBoard(await device.boot(), async (m) => {
        await bootsTo(m, 'A');
        await healthUnitEnds(m, true);
        await runsIdle(m, fleet, id, 'A', 1);
        await showsA(m, onA);
        // the drift: the root remounted read-write and written (Debian's default, or an operator's fix)
        assert.is(await m.shell('mount -o remount,rw / && printf x > /drifted && sync && mount -o remount,ro / && echo drifted', STEP_TIMEOUT_MS), 'drifted');
        // above the anti-rollback floor (2) that the rollback left, a delta from what A runs (release 1)
        const release3 = await makeGuestRelease({ workDir: work, keysDir: fleet.keysDir, base, version: 3, hardware });
        const sentBefore = fleet.artifacts.bytesSent();
        await installsOverMqtt(m, fleet, id, release3, { running: { version: 1, booted: 'A' }, rebootCommand: REBOOT, installTimeoutMs: 2 * SYSTEMD_STEP_MS, connected: true });
        assert.ok(fleet.artifacts.bytesSent() - sentBefore >= statSync(release3.image).size, 'the server sent the full image');
      });
      const slots = o.full ? ['A', 'B', 'A', 'B'] : ['A', 'B'];
      if (o.full) {
        const armed3 = await readEnv(device, 'after boot 3');
        assert.equal([armed3.get(BOOT_VARS.order), armed3.get(BOOT_VARS.trial)], ['B A', 'B'], 'B armed for a trial of release 3');
        // boot 4: B runs release 3, committed; the status says why the full image was used
        await onBoard(await device.boot(), async (m) => {
          await commitsTrial(m, fleet, id, 'B', 3);
          const last = lastUpdateOf(fleet, id);
          assert.equal([last?.['payload'], last?.['payloadReason']], ['full', 'base-drifted'], `status lastUpdate: ${JSON.stringify(last)}`);
          await m.powerCut();
        });
        const after = await readEnv(device, 'after boot 4');
        assert.equal([after.get(BOOT_VARS.order), after.get(BOOT_VARS.trial)], ['B A', undefined], 'B committed');
      }
      assert.equal(device.bootedSlots, slots);
      assert.equal(device.predictedSlots, device.bootedSlots, 'the boot-script simulator chose the slot real U-Boot chose at every boot');
      console.log(`# ${c.board} (systemd): scenario total ${seconds(started)} s`);
    } finally {
      await fleet.close();
    }
  });

  s.run();
}

/** The `lastUpdate` member of the newest status document of `id` (the fleet's parser keeps only outcome and version). */
function lastUpdateOf(fleet: GuestFleet, id: string): Record<string, unknown> | undefined {
  const docs = fleet.observer.seen.filter((m) => m.topic.endsWith(`/${id}/status`) && m.text !== '');
  const doc: unknown = JSON.parse(docs[docs.length - 1]?.text ?? 'null');
  const last = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'lastUpdate') : undefined;
  if (typeof last !== 'object' || last === null) return undefined;
  return Object.fromEntries(Object.entries(last));
}
