/**
 * Real U-Boot (Debian's u-boot-qemu, qemu_arm64) on emulated arm64 runs bootloader/boot.cmd
 * with both env placements a real board uses:
 *  - qemu-virt-arm64-file-env: `uboot.env` on the FAT boot partition (Raspberry Pi layout), on
 *    Debian 12's QEMU 7.2;
 *  - qemu-virt-arm64: U-Boot's own env in NOR flash (saveenv), on QEMU 10 from bookworm-backports
 *    (Debian 12's QEMU 7.2 corrupts pflash writes).
 * The env is read back between boots with libubootenv's fw_printenv.
 * ota-test: seconds 185
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/tools.js';
import {
  Machine, QEMU_BOARDS, blankFlash, boardRuns, copyDisk, ensureImage, fatEnvStore, flashEnvStore, logDirFor,
  replaceFileInPartition, simulateRuns, stateVars, type BoardCase, type EnvStore, type ImageLayout,
} from '../support/qemu/index.js';
import { gateIn } from '../support/skip.js';

// Generous: the 2-core CI machine runs other tests beside these, and nothing here is a timing claim.
const STEP_TIMEOUT_MS = 90_000;
const BROKEN_INIT = '#!/bin/busybox sh\necho "broken init of slot B"\nexit 1\n';

const temp = tempDir('ota-qemu-');
const seconds = (fromMs: number): string => ((Date.now() - fromMs) / 1000).toFixed(1);

/** A copy of the image with its env store, started as often as a test needs. */
interface Device {
  image: ImageLayout;
  /** A folder of this device's own. */
  work: string;
  disk: string;
  env: EnvStore;
  start(boot: string): Promise<Machine>;
}

async function withMachine(device: Device, name: string, body: (m: Machine) => Promise<void>): Promise<void> {
  const machine = await device.start(name);
  console.log(`# ${name}: serial logs in ${machine.logPath}`);
  try {
    await body(machine);
  } catch (err) {
    console.log(machine.failureReport());
    throw err;
  } finally {
    await machine.kill();
  }
}

/** Waits for this boot's choice of slot and for that slot's init marker. */
async function bootsToInit(m: Machine, slot: string): Promise<number> {
  const chosen = await m.waitFor('script-slot', { timeoutMs: STEP_TIMEOUT_MS });
  assert.is(chosen.slot, slot, `the boot script chooses ${slot}`);
  const cmdline = await m.waitFor('kernel-cmdline', { timeoutMs: STEP_TIMEOUT_MS });
  assert.is(cmdline.slot, slot, 'the kernel gets ota.slot= of the chosen slot');
  const init = await m.waitFor('init', { timeoutMs: STEP_TIMEOUT_MS });
  assert.equal([init.boot, init.slot], [chosen.boot, slot], "the slot's init reads the same slot from /proc/cmdline");
  await m.waitFor('init-ready', { timeoutMs: STEP_TIMEOUT_MS });
  return init.boot;
}

function boardSuite(c: BoardCase): void {
  const s = suite(c.title);
  const { skip, qemu } = boardRuns(c);
  let layout: ImageLayout | undefined;

  const device = (name: string): Device => {
    if (layout === undefined) throw new Error(`the image of ${c.board} was not built`);
    const image = layout;
    const work = join(temp.dir, `${c.board}-${name}`);
    mkdirSync(work, { recursive: true });
    const disk = copyDisk(image, join(work, 'disk.img'));
    const flash = image.env.placement === 'native' ? blankFlash(join(work, 'flash1.img')) : undefined;
    const env = flash === undefined ? fatEnvStore(disk, image, work) : flashEnvStore(flash, image, work);
    return {
      image,
      work,
      disk,
      env,
      start: (boot) => Machine.start({
        diskPath: disk, logDir: logDirFor(`${c.board}-${boot}`),
        ...(qemu === undefined ? {} : { qemu }), ...(flash === undefined ? {} : { envFlashPath: flash }),
      }),
    };
  };

  s.before(() => {
    if (skip !== undefined) return;
    const started = Date.now();
    layout = ensureImage(c.board);
    console.log(`# ${c.board}: image ready in ${seconds(started)} s (kernel ${layout.kernelVersion})`);
  });

  const t = gateIn(s, skip, c.title);

  t('a fresh image: U-Boot runs the A/B script, boots slot A to its init, and spends a try of A at each boot', async () => {
    const d = device('fresh');
    const initial = d.image.env.placement === 'native' ? null : d.env.read(); // a blank flash has none
    const slots: string[] = [];
    await withMachine(d, 'fresh', async (m) => {
      const started = Date.now();
      const banner = await m.waitFor('uboot-banner', { timeoutMs: STEP_TIMEOUT_MS });
      assert.match(banner.version, /^20\d\d\.\d\d/);
      assert.is(await bootsToInit(m, 'A'), 1, 'one boot, no reset');
      const guestEnv = await m.shell('fw_printenv -c /etc/fw_env.config BOOT_ORDER BOOT_A_LEFT OTA_BOOT_COUNT', STEP_TIMEOUT_MS);
      assert.equal(guestEnv.split('\n'), ['BOOT_ORDER=A B', 'BOOT_A_LEFT=2', 'OTA_BOOT_COUNT=1'],
        "the guest's fw_printenv (board fw_env.config) reads what U-Boot saved at this boot");
      assert.match(await m.shell('node --version', STEP_TIMEOUT_MS), /^v18\./, "Debian's Node.js 18 runs in the slot");
      if (d.image.env.placement === 'native') {
        const mtd = await m.shell('cat /proc/mtd', STEP_TIMEOUT_MS);
        assert.match(mtd, /^mtd0: 08000000 00040000 /m, 'the guest sees both flash banks as /dev/mtd0 (NOR modules loaded)');
      }
      console.log(`# ${c.board}: power on to slot A's init: ${seconds(started)} s`);
      await m.reset();
      assert.is(await bootsToInit(m, 'A'), 2, 'after a reset (QMP system_reset) A boots again');
      await m.powerCut();
      slots.push(...m.events.flatMap((e) => (e.kind === 'script-slot' ? [e.slot] : [])));
    });
    const env = d.env.read();
    assert.is(env.get('BOOT_ORDER'), 'A B');
    assert.is(env.get('BOOT_A_LEFT'), '1', 'each boot spent a try of A (nothing committed it) and saved it before booting');
    assert.is(env.get('BOOT_B_LEFT'), '3');
    assert.is(env.get('OTA_BOOT_COUNT'), '2');
    assert.ok(env.has('bootcmd'), `U-Boot's save wrote its whole env to ${d.env.description}`);
    const predicted = simulateRuns(d.image, initial, slots.length);
    assert.equal(predicted.slots, slots, 'the boot-script simulator chooses the slots real U-Boot chose');
    assert.equal(stateVars(predicted.stored), stateVars(env), 'the simulator predicts the state real U-Boot saved');
  });

  t('slot B never reaches userspace: U-Boot spends its tries, then falls back to A by itself', async () => {
    const d = device('fallback');
    if (d.image.env.placement === 'native') {
      // a blank flash has no env for fw_setenv to change: the device first runs on A once
      await withMachine(d, 'fallback-first-boot', async (m) => {
        await bootsToInit(m, 'A');
        await m.powerCut();
      });
    }
    const before = Number.parseInt(d.env.read().get('OTA_BOOT_COUNT') ?? '0', 16);
    // B's kernel and initramfs are fine; its init dies at once, so the kernel panics (panic=5 resets)
    replaceFileInPartition(d.disk, d.image.partitions.B, d.work, '/sbin/init', BROKEN_INIT);
    d.env.write({ BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' }); // B armed as the agent arms it
    const armed = d.env.read();
    const slots: string[] = [];
    await withMachine(d, 'fallback', async (m) => {
      const started = Date.now();
      for (const attempt of [1, 2, 3]) {
        const chosen = await m.waitFor('script-slot', { timeoutMs: STEP_TIMEOUT_MS });
        assert.equal([chosen.boot, chosen.slot], [attempt, 'B'], `boot ${attempt} tries B`);
        const mounted = await m.waitFor('initramfs', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.text.startsWith('slot B ') });
        assert.is(mounted.boot, attempt, "B's kernel and initramfs run");
        await m.waitFor('kernel-panic', { timeoutMs: STEP_TIMEOUT_MS, match: (e) => e.boot === attempt });
      }
      assert.is(await bootsToInit(m, 'A'), 4, 'the fourth boot falls back to A');
      assert.not.ok(m.events.some((e) => e.kind === 'init' && e.slot === 'B'), 'B never reached its init');
      console.log(`# ${c.board}: three failed tries of B, then A's init: ${seconds(started)} s`);
      await m.powerCut();
      slots.push(...m.events.flatMap((e) => (e.kind === 'script-slot' ? [e.slot] : [])));
    });
    const env = d.env.read();
    assert.is(env.get('BOOT_ORDER'), 'B A', 'U-Boot does not reorder: the agent on A decides what to do with B');
    assert.is(env.get('BOOT_B_LEFT'), '0');
    assert.is(env.get('BOOT_A_LEFT'), '2');
    assert.is(env.get('OTA_BOOT_COUNT'), (before + 4).toString(16), 'four runs of the script, each saved');
    const predicted = simulateRuns(d.image, armed, slots.length);
    assert.equal(predicted.slots, slots, 'the boot-script simulator chooses the slots real U-Boot chose');
    assert.equal(stateVars(predicted.stored), stateVars(env), 'the simulator predicts the state real U-Boot saved');
  });

  s.run();
}

for (const board of QEMU_BOARDS) boardSuite(board);
// temp folders go when the process ends (after both suites ran: uvu runs suites in order)
process.on('exit', () => temp.cleanup());
