/**
 * Debian's Raspberry Pi U-Boot (u-boot-rpi, rpi_3) on QEMU's raspi3b, booting the SD card image that
 * `ota-fleet image build --board rpi-3` makes from build-raspi.sh's root filesystem (busybox slot,
 * Debian's arm64 kernel, raspi-firmware and u-boot-rpi unpacked in it). U-Boot reads uboot.env from
 * the FAT (its own env: CONFIG_ENV_IS_IN_FAT), runs our boot.scr, saves with saveenv; the kernel
 * mounts the slot from the SD card (sdhost-bcm2835) and the image's pre-init starts the slot's init.
 *
 * Not emulated: QEMU loads U-Boot and the device tree itself (-kernel, -dtb), so the GPU firmware
 * (bootcode.bin, start.elf, fixup.dat) and its reading of config.txt never run here. The agent does
 * not run in the guest (raspi3b's network is USB only and the slot has no Node.js): the agent's side
 * is our UBootControl run on the host on the uboot.env taken off the FAT between boots, with the
 * kernel command line the guest booted with (the canary), exactly as the agent would on the device.
 *
 * Boot files (docs/boot-partition-updates.md): each slot's device tree is marked (its `model`, which the
 * kernel prints as "Machine model:"), so the console says which tree the kernel got: the slot's own from
 * /boot/dtbs, never the one QEMU passes as the firmware's. The boot script is updated with two names by
 * the agent's writer (BootScripts) run on the host on the FAT's files: the script torn in its write (a
 * power cut: the writer's temp name) is never read, boot.scr runs; a staged boot.scr.uimg runs first; after
 * the commit boot.scr is the new script and boot.scr.uimg is gone. Last, a damaged boot.scr.uimg (what the
 * FAT or the card could still do to it): U-Boot's source refuses it (bad data CRC) and distro boot runs
 * boot.scr. test/unit/boot/boot-scripts.test.ts cuts at every step.
 * ota-test: seconds 450
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOT_SCRIPT, BOOT_SCRIPT_NEXT, BOOT_SCRIPT_TEMP, BootScripts, UBootControl, fileKey, makeScriptImage, mountedBootDir, type Slot } from '../../agent/src/boot/index.js';
import { openBootEnv, type EnvVars } from '../../agent/src/bootenv/index.js';
import { bootRuns } from '../../agent/src/sim/index.js';
import { defaultEnvOf } from '../../fleet/src/image/index.js';
import { main as fleet } from '../../fleet/src/cli/index.js';
import { runMain, tempDir } from '../support/tools.js';
import { Machine, logDirFor, qemuSkipReason, stateVars } from '../support/qemu/index.js';
import { gate } from '../support/skip.js';
import { setRootString } from '../support/fdt.js';

const it = gate(qemuSkipReason());
const MIB = 1024 * 1024;
const STEP_MS = 180_000; // U-Boot reads the 32 MiB kernel from the emulated SD card slowly (about 40 s)
const BOOT_MIB = 32; const SLOT_MIB = 96; // 1 + 32 + 2 x 96 + 16 = 241 MiB of partitions: a 256 MiB card
const PART = { boot: 1, A: 1 + BOOT_MIB, B: 1 + BOOT_MIB + SLOT_MIB };
const ENV_SIZE = 0x4000;

function sh(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, [...args], { encoding: 'latin1', maxBuffer: 64 * MIB, input, env: { ...process.env, MTOOLS_SKIP_CHECK: '1', PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

/** The text compiled into boot.scr (a legacy script image: 64-byte header, a zero-ended size list, the text). */
function scriptText(scr: Buffer): string {
  const size = scr.readUInt32BE(64);
  return scr.subarray(72, 72 + size).toString('latin1');
}

/** uboot.env on the card's FAT, as the host (and the agent, through fw_env.config) sees it. */
class CardEnv {
  readonly file: string;
  readonly config: string;
  constructor(readonly disk: string, dir: string) {
    this.file = join(dir, 'uboot.env');
    this.config = join(dir, 'fw_env.config');
    writeFileSync(this.config, `${this.file} 0x0 0x${ENV_SIZE.toString(16)}\n`);
  }
  private get fat(): string { return `${this.disk}@@${PART.boot * MIB}`; }
  pull(): void { sh('mcopy', ['-o', '-n', '-i', this.fat, '::uboot.env', this.file]); }
  push(): void { sh('mcopy', ['-o', '-n', '-i', this.fat, this.file, '::uboot.env']); }
  /** fw_printenv's reading and our codec's, which must agree. */
  async read(): Promise<Map<string, string>> {
    this.pull();
    const printed = new Map(sh('fw_printenv', ['-c', this.config]).split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const ours = await (await openBootEnv({ configPath: this.config })).read();
    assert.equal(stateVars(ours), stateVars(printed), 'our codec and fw_printenv read the same state');
    assert.is(ours.get('bootcmd'), printed.get('bootcmd'));
    return new Map(ours);
  }
  /** The agent's BootControl on this env, booted with `cmdline`. */
  async control(cmdline: string, dir: string): Promise<UBootControl> {
    this.pull();
    const cmdlinePath = join(dir, 'cmdline');
    writeFileSync(cmdlinePath, `${cmdline}\n`);
    return new UBootControl({ env: await openBootEnv({ configPath: this.config }), cmdlinePath });
  }
}

const NAMES: readonly string[] = [BOOT_SCRIPT, BOOT_SCRIPT_NEXT, BOOT_SCRIPT_TEMP];

/** The boot scripts on the card's FAT, mirrored in a folder the agent's writer works on (pull, write, push). */
class CardScripts {
  readonly dir: string;
  constructor(readonly disk: string, parent: string) {
    this.dir = join(parent, 'fat-scripts');
    mkdirSync(this.dir);
  }
  private get fat(): string { return `${this.disk}@@${PART.boot * MIB}`; }
  private onFat(): string[] { return sh('mdir', ['-b', '-a', '-i', this.fat, '::']).split('\n').map((l) => l.trim().replace(/^::\/?/, '')).filter((n) => NAMES.includes(n)); }
  pull(): void {
    for (const n of NAMES) rmSync(join(this.dir, n), { force: true });
    for (const n of this.onFat()) sh('mcopy', ['-o', '-n', '-i', this.fat, `::${n}`, join(this.dir, n)]);
  }
  push(): void {
    const here: string[] = readdirSync(this.dir).filter((n) => NAMES.includes(n));
    for (const n of this.onFat()) if (!here.includes(n)) sh('mdel', ['-i', this.fat, `::${n}`]);
    for (const n of here) sh('mcopy', ['-o', '-n', '-i', this.fat, join(this.dir, n), `::${n}`]);
  }
  /** Run the agent's writer on the FAT's scripts. */
  async write(step: (w: BootScripts) => Promise<unknown>): Promise<void> {
    this.pull();
    await step(new BootScripts(mountedBootDir(this.dir), 'the card\'s FAT'));
    this.push();
  }
  /** Put `bytes` as `name` on the FAT directly, the other scripts kept (a torn write). */
  put(name: string, bytes: Buffer): void {
    this.pull();
    writeFileSync(join(this.dir, name), bytes);
    this.push();
  }
  names(): string[] { return this.onFat().sort(); }
}

/** The tree of the kernel in the root filesystem `tree` (the file boot.scr loads from /boot/dtbs), marked with `model`. */
function markTree(tree: string, model: string): { path: string; kernelDir: string } {
  const kernelDir = readdirSync(join(tree, 'usr/lib')).find((n) => n.startsWith('linux-image-')) ?? '';
  const path = join(tree, 'usr/lib', kernelDir, 'broadcom/bcm2837-rpi-3-b.dtb');
  writeFileSync(path, setRootString(readFileSync(path), 'model', model));
  return { path, kernelDir };
}

/** One power-on until the slot's init is ready (or `slots` script runs): the slots U-Boot chose, the booted cmdline. */
async function powerOn(disk: string, raspi: { ubootPath: string; dtbPath: string }, name: string, choices: number): Promise<{ chosen: string[]; cmdline: string; init: string; defaultEnv: boolean; found: string[]; model: string; messages: string[] }> {
  const m = await Machine.start({ diskPath: disk, logDir: logDirFor(name), raspi3b: raspi });
  try {
    const chosen: string[] = [];
    for (let i = 0; i < choices; i += 1) chosen.push((await m.waitFor('script-slot', { timeoutMs: STEP_MS })).slot);
    const cmdline = (await m.waitFor('kernel-cmdline', { timeoutMs: STEP_MS })).cmdline;
    const init = (await m.waitFor('init', { timeoutMs: STEP_MS })).slot;
    await m.waitFor('init-ready', { timeoutMs: STEP_MS });
    const found = m.events.flatMap((e) => (e.kind === 'script-found' ? [e.path] : []));
    const model = m.events.flatMap((e) => (e.kind === 'kernel-model' ? [e.model] : [])).at(-1) ?? '';
    const messages = m.events.flatMap((e) => (e.kind === 'script-message' ? [e.text] : []));
    return { chosen, cmdline, init, defaultEnv: m.events.some((e) => e.kind === 'uboot-env-default'), found, model, messages };
  } catch (err) {
    console.log(m.failureReport());
    throw err;
  } finally {
    await m.kill(); // the env was saved by U-Boot before the kernel started: a power cut here loses nothing
  }
}

it('raspi3b: Debian\'s rpi_3 U-Boot boots the image build --board rpi-3 made: A first; an empty B armed falls back to A after its tries; a trial of B that commits; real U-Boot agrees with the simulator at each step', async () => {
  const { dir, cleanup } = tempDir('ota-qemu-raspi-');
  try {
    const built = spawnSync('bash', [new URL('../../../test/qemu-arm/build-raspi.sh', import.meta.url).pathname, join(dir, 'fs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    assert.is(built.status, 0, 'build-raspi.sh failed (above)');
    const raspi = { ubootPath: join(dir, 'fs/u-boot.bin'), dtbPath: join(dir, 'fs/bcm2837-rpi-3-b.dtb') };
    // slot A's tree (release 1) marked; QEMU's (the firmware's, -dtb) is left as Debian ships it
    const FIRMWARE_MODEL = 'Raspberry Pi 3 Model B';
    const treeA = markTree(join(dir, 'fs/rootfs'), 'ota test tree, release 1');
    const image = await runMain(fleet, ['image', 'build', '--board', 'rpi-3', '--rootfs', 'fs/rootfs', '--out', 'sd.img', '--boot-size', `${BOOT_MIB}M`, '--slot-size', `${SLOT_MIB}M`, '--data-size', '16M'], { cwd: dir });
    assert.is(image.code, 0, image.stderr);
    const disk = join(dir, 'sd.img');
    const card = new CardEnv(disk, dir);
    const scripts = new CardScripts(disk, dir);
    const script = scriptText(Buffer.from(sh('mcopy', ['-n', '-i', `${disk}@@${PART.boot * MIB}`, '::boot.scr', '-']), 'latin1'));
    // release 2's boot script: the same script, saying which it is (what a release's changed boot.cmd would be)
    const script2 = `echo "ota: boot script of release 2"\n${script}`;
    const image2 = makeScriptImage(script2, 'arm64', 'ota-agent A/B boot');
    const defaults = defaultEnvOf(readFileSync(raspi.ubootPath), 'u-boot.bin');
    assert.match(defaults.get('boot_scripts') ?? '', /^boot\.scr\.uimg boot\.scr$/, 'distro boot tries boot.scr.uimg, then boot.scr (what the two names rely on)');
    // what the rpi U-Boot's distro boot sets before it sources /boot.scr from mmc 0:1
    const world = { defaultEnv: defaults, bootVars: new Map([['devtype', 'mmc'], ['devnum', '0'], ['distro_bootpart', '1']]), ulongBits: 64 as const };
    const simulate = (stored: EnvVars, missing: string[] = []): { slots: (string | null)[]; stored: EnvVars } => {
      const r = bootRuns(script, stored, { ...world, missingFiles: new Set(missing) });
      return { slots: r.runs.map((x) => (x.outcome.kind === 'boot' ? x.outcome.slot : null)), stored: r.runs.at(-1)?.nativeEnv ?? new Map() };
    };

    // 1. first boot: the image's uboot.env (U-Boot's defaults, A primary and committed, B bad)
    let before = await card.read();
    assert.equal([before.get('BOOT_ORDER'), before.get('BOOT_A_LEFT'), before.get('BOOT_B_LEFT'), before.get('bootcmd')], ['A', '3', '0', 'run distro_bootcmd']);
    let predicted = simulate(before);
    let boot = await powerOn(disk, raspi, 'raspi-first', 1);
    assert.equal([boot.chosen, boot.init], [['A'], 'A'], 'real U-Boot booted A to its init');
    assert.equal([boot.found, boot.model], [['/boot.scr'], 'ota test tree, release 1'], 'boot.scr ran, and the kernel got slot A\'s own tree, not the firmware\'s');
    assert.not.ok(boot.defaultEnv, 'U-Boot loaded the image\'s uboot.env (no "using default environment")');
    assert.equal(predicted.slots, ['A'], 'the simulator chose as U-Boot did');
    let after = await card.read();
    assert.equal(stateVars(after), stateVars(predicted.stored), 'U-Boot saved what the simulator predicted');
    assert.equal([after.get('BOOT_A_LEFT'), after.get('OTA_BOOT_COUNT')], ['2', '1']);
    assert.is(after.get('kernel_addr_r'), defaults.get('kernel_addr_r'), 'saveenv kept U-Boot\'s defaults the image wrote');
    // and it stored what the rpi board code sets at start-up, which it never sets again once in the env (docs/bring-up.md)
    assert.equal([after.get('fdtfile'), after.get('fdt_addr') !== undefined], ['broadcom/bcm2837-rpi-3-b.dtb', true]);

    // 2. B as the image leaves it (empty), armed by the agent's BootControl: U-Boot spends B's tries (the load fails, reset) and falls back to A
    await (await card.control(boot.cmdline, dir)).setPrimary('B');
    card.push();
    before = await card.read();
    assert.equal([before.get('BOOT_ORDER'), before.get('BOOT_B_LEFT'), before.get('OTA_TRIAL')], ['B A', '3', 'B'], 'the agent armed a trial of B');
    predicted = simulate(before, [fileKey('mmc', '0:3', '/boot/vmlinuz')]);
    // and release 2's boot script torn in its write by a power cut (the writer's temp name): U-Boot never reads it
    scripts.put(BOOT_SCRIPT_TEMP, image2.subarray(0, image2.length - 700));
    boot = await powerOn(disk, raspi, 'raspi-fallback', 4);
    assert.equal(boot.found, ['/boot.scr', '/boot.scr', '/boot.scr', '/boot.scr'], 'each of the four U-Boot runs ran boot.scr');
    assert.not.ok(boot.messages.includes('boot script of release 2'), 'the torn script never ran');
    assert.is(boot.model, 'ota test tree, release 1', 'A booted with its own tree');
    assert.equal(boot.chosen, ['B', 'B', 'B', 'A'], 'three tries of B, then A');
    assert.equal(predicted.slots, [null, null, null, 'A'], 'the simulator resets three times too, then boots A');
    assert.is(boot.init, 'A');
    assert.not.ok(boot.defaultEnv, 'U-Boot loaded the uboot.env the agent wrote');
    after = await card.read();
    assert.equal(stateVars(after), stateVars(predicted.stored), 'the state U-Boot saved is the simulator\'s');
    assert.equal([after.get('BOOT_B_LEFT'), after.get('BOOT_A_LEFT')], ['0', '1'], 'B spent, A has spent two tries (first boot, this one)');

    // 3. an update written to B (slot A's bytes), armed again from A: B boots on trial, and the agent commits it
    // slot B: slot A's image with release 2's tree (debugfs writes it into B's ext4)
    const bytes = readFileSync(disk);
    const slotB = join(dir, 'slot-B.img');
    writeFileSync(slotB, bytes.subarray(PART.A * MIB, (PART.A + SLOT_MIB) * MIB));
    const tree2 = join(dir, 'tree-2.dtb');
    writeFileSync(tree2, setRootString(readFileSync(treeA.path), 'model', 'ota test tree, release 2'));
    const inSlot = `/usr/lib/${treeA.kernelDir}/broadcom`;
    sh('debugfs', ['-w', '-R', `rm ${inSlot}/bcm2837-rpi-3-b.dtb`, slotB]);
    writeFileSync(join(dir, 'debugfs.cmd'), `cd ${inSlot}\nwrite ${tree2} bcm2837-rpi-3-b.dtb\n`);
    sh('debugfs', ['-w', '-f', join(dir, 'debugfs.cmd'), slotB]);
    readFileSync(slotB).copy(bytes, PART.B * MIB);
    writeFileSync(disk, bytes);
    // the agent's order: the slot written and verified, release 2's script staged (over the torn one), then the trial armed
    await scripts.write((w) => w.stage(image2));
    assert.equal(scripts.names(), [BOOT_SCRIPT, BOOT_SCRIPT_NEXT], 'staged beside the committed boot.scr (the torn temp file written over, then renamed)');
    await (await card.control(boot.cmdline, dir)).setPrimary('B');
    card.push();
    before = await card.read();
    const predicted2 = bootRuns(script2, before, world);
    boot = await powerOn(disk, raspi, 'raspi-trial', 1);
    assert.equal([boot.chosen, boot.init, predicted2.runs.map((x) => (x.outcome.kind === 'boot' ? x.outcome.slot : null))], [['B'], 'B', ['B']], 'B booted on trial, as simulated');
    assert.equal([boot.found, boot.model], [['/boot.scr.uimg'], 'ota test tree, release 2'], 'release 2\'s script ran from boot.scr.uimg, and B\'s kernel got B\'s tree');
    assert.ok(boot.messages.includes('boot script of release 2'));
    predicted = { slots: [], stored: predicted2.runs.at(-1)?.nativeEnv ?? new Map() };
    after = await card.read();
    assert.equal(stateVars(after), stateVars(predicted.stored));
    assert.is(after.get('BOOT_B_LEFT'), '2', 'the trial spent one try');
    await (await card.control(boot.cmdline, dir)).markGood('B' satisfies Slot);
    card.push();
    const committed = await card.read();
    assert.equal([committed.get('BOOT_ORDER'), committed.get('BOOT_B_LEFT'), committed.get('OTA_TRIAL')], ['B A', '3', undefined], 'the agent committed B (fw_printenv reads what it wrote)');
    await scripts.write((w) => w.commit());
    assert.equal(scripts.names(), [BOOT_SCRIPT], 'after the commit: boot.scr alone');
    assert.is(scriptText(Buffer.from(sh('mcopy', ['-n', '-i', `${disk}@@${PART.boot * MIB}`, '::boot.scr', '-']), 'latin1')), script2, 'boot.scr is release 2\'s script');
    assert.equal(bootRuns(script2, committed, world).runs.map((x) => (x.outcome.kind === 'boot' ? x.outcome.slot : null)), ['B'], 'the simulator boots B from now on');
    boot = await powerOn(disk, raspi, 'raspi-committed', 1);
    assert.equal([boot.chosen, boot.init, boot.found, boot.model], [['B'], 'B', ['/boot.scr'], 'ota test tree, release 2'], 'after the commit: boot.scr (release 2\'s) boots B with B\'s tree');
    assert.ok(boot.messages.includes('boot script of release 2'));
    assert.not.equal(boot.model, FIRMWARE_MODEL);

    // a damaged boot.scr.uimg (the writer's temp name and rename keep a torn write from it; the FAT's own writes or the
    // card could still damage it): source refuses it (bad data CRC), distro boot runs boot.scr, which chooses B.
    // Stopped once the script has chosen: the kernel's load is what the boots above showed.
    scripts.put(BOOT_SCRIPT_NEXT, image2.subarray(0, image2.length - 700));
    const m = await Machine.start({ diskPath: disk, logDir: logDirFor('raspi-damaged-uimg'), raspi3b: raspi });
    try {
      await m.waitFor('script-failed', { timeoutMs: STEP_MS });
      assert.is((await m.waitFor('script-slot', { timeoutMs: STEP_MS })).slot, 'B');
      const found = m.events.flatMap((e) => (e.kind === 'script-found' ? [e.path] : []));
      assert.equal(found, ['/boot.scr.uimg', '/boot.scr'], 'the refused boot.scr.uimg, then boot.scr');
      assert.ok(m.events.some((e) => e.kind === 'script-message' && e.text === 'boot script of release 2'), 'boot.scr, release 2\'s since the commit, ran');
    } catch (err) {
      console.log(m.failureReport());
      throw err;
    } finally {
      await m.kill();
    }
  } finally {
    cleanup();
  }
});

test.run();
