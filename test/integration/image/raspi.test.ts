/**
 * `ota-fleet image build --board rpi-3|rpi-4`: the SD card image of a Raspberry Pi, read back with
 * sfdisk, mtools, fw_printenv and our codec. The root filesystem is a small tree laid out as Debian's
 * packages lay it out (raspi-firmware, u-boot-rpi, the kernel's device trees); its firmware files and
 * U-Boot are stand-ins with known bytes (a u-boot.bin holds its default env as U-Boot's does: a block
 * of name=value strings after other strings). test/qemu-arm/raspi.test.ts boots Debian's real ones.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEnv } from '../../../agent/src/bootenv/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { runMain, tempDir, missingTools } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { agentDeb as sharedAgentDeb } from '../../support/agent-deb.js';
import { fwPrintenv } from '../../support/uboot-env-tools.js';

const TOOLS = ['dpkg-deb', 'mke2fs', 'mkfs.vfat', 'mcopy', 'mdir', 'mmd', 'sfdisk', 'mkimage', 'bmaptool', 'fw_printenv', 'fakeroot'];
const it = gate(missingReason(missingTools('raspberry pi image build', ...TOOLS)));
const MIB = 1024 * 1024;
const SIZES = ['--boot-size', '8M', '--slot-size', '8M', '--data-size', '8M'];
const EPOCH = '1700000000';
const now = new Date('2030-01-01T00:00:00Z');
const KERNEL = '6.1.0-99-arm64';
const DEFAULT_ENV = ['bootcmd=run distro_bootcmd', 'bootdelay=2', 'arch=arm', 'kernel_addr_r=0x00080000', 'ramdisk_addr_r=0x02700000'];

const agentDeb = (): string => sharedAgentDeb(EPOCH);

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, [...args], { encoding: 'latin1', maxBuffer: 256 * MIB, env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`, MTOOLS_SKIP_CHECK: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

function put(root: string, path: string, bytes: string | Buffer): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), bytes);
}

/** A root filesystem with Debian's Raspberry Pi layout; `without` leaves one path out. */
function makeRootfs(root: string, without?: string): void {
  put(root, 'etc/motd', 'a pi\n');
  for (const f of ['bootcode.bin', 'start.elf', 'fixup.dat', 'start4.elf', 'fixup4.dat', 'start_cd.elf', 'LICENCE.broadcom']) put(root, `usr/lib/raspi-firmware/${f}`, `firmware ${f}\n`);
  for (const b of ['rpi_3', 'rpi_4']) {
    put(root, `usr/lib/u-boot/${b}/u-boot.bin`, Buffer.from(`\x14\x00\x00\x14${b} code\0%s: usage\0${DEFAULT_ENV.join('\0')}${b === 'rpi_4' ? '\0board=rpi4' : ''}\0\0\x00\x01tail`, 'latin1'));
  }
  for (const d of ['bcm2837-rpi-3-b.dtb', 'bcm2711-rpi-4-b.dtb']) put(root, `usr/lib/linux-image-${KERNEL}/broadcom/${d}`, `dtb ${d}\n`);
  put(root, `usr/lib/linux-image-${KERNEL}/overlays/disable-bt.dtbo`, 'overlay\n');
  put(root, `boot/vmlinuz-${KERNEL}`, 'kernel\n');
  symlinkSync(`vmlinuz-${KERNEL}`, join(root, 'boot/vmlinuz'));
  if (without !== undefined) rmSync(join(root, without), { recursive: true });
}

async function build(dir: string, board: string, out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(fleet, ['image', 'build', '--agent-deb', agentDeb(), ...SIZES, '--board', board, '--rootfs', 'root', '--out', out], { cwd: dir, now, env: { SOURCE_DATE_EPOCH: EPOCH } });
}

function fatFile(fat: string, name: string): Buffer {
  return Buffer.from(sh('mcopy', ['-i', fat, '-n', `::${name}`, '-']), 'latin1');
}

for (const [board, ubootDir, console] of [['rpi-3', 'rpi_3', 'ttyS1'], ['rpi-4', 'rpi_4', 'ttyS1']] as const) {
  it(`${board}: an SD card image of a power-of-two size, built the same twice: firmware, config.txt, the ${ubootDir} U-Boot it names, device trees and overlays, boot.scr and uboot.env (U-Boot's defaults with A committed) on the FAT; the .bmap gives it back`, async () => {
    const { dir, cleanup } = tempDir('ota-raspi-');
    try {
      makeRootfs(join(dir, 'root'));
      const first = await build(dir, board, 'one.img');
      assert.is(first.code, 0, first.stderr);
      const second = await build(dir, board, 'two.img');
      assert.is(second.code, 0, second.stderr);
      const disk = join(dir, 'one.img');
      assert.ok(readFileSync(disk).equals(readFileSync(join(dir, 'two.img'))), 'the two builds differ');
      assert.is(statSync(disk).size, 64 * MIB, '33 MiB of partitions padded to 64 MiB (QEMU\'s SD card needs a power of two)');

      const table = JSON.parse(sh('sfdisk', ['--json', disk])) as { partitiontable: { partitions: Array<{ start: number; size: number; type: string }> } };
      assert.equal(table.partitiontable.partitions.map((p) => [p.start * 512 / MIB, p.size * 512 / MIB, p.type]), [[1, 8, '1'], [9, 8, '83'], [17, 8, '83'], [25, 8, '83']]);

      const fat = `${disk}@@${MIB}`;
      const listing = sh('mdir', ['-i', fat, '-b', '::']).split('\n').filter((l) => l !== '').map((l) => l.replace(/^::\//, '')).sort();
      assert.equal(listing, ['bcm2711-rpi-4-b.dtb', 'bcm2837-rpi-3-b.dtb', 'boot.scr', 'bootcode.bin', 'config.txt', 'fixup.dat', 'fixup4.dat', 'overlays/', 'start.elf', 'start4.elf', 'start_cd.elf', 'u-boot.bin', 'uboot.env']);
      assert.equal(sh('mdir', ['-i', fat, '-b', '::overlays']).trim(), '::/overlays/disable-bt.dtbo');
      assert.ok(fatFile(fat, 'start4.elf').equals(Buffer.from('firmware start4.elf\n')));
      assert.ok(fatFile(fat, 'u-boot.bin').equals(readFileSync(join(dir, `root/usr/lib/u-boot/${ubootDir}/u-boot.bin`))), `u-boot.bin is ${ubootDir}'s`);
      const config = fatFile(fat, 'config.txt').toString('utf8');
      for (const line of ['arm_64bit=1', 'kernel=u-boot.bin', 'enable_uart=1', 'upstream_kernel=1']) assert.ok(config.split('\n').includes(line), `config.txt: ${line}`);
      const scr = fatFile(fat, 'boot.scr');
      assert.is(scr.readUInt32BE(0), 0x27051956, 'boot.scr is a U-Boot image');
      assert.ok(scr.includes(`setenv ota_bootargs 'console=tty1 console=${console},115200 rootwait panic=5 ro init=/usr/lib/ota-agent/ota-init'`), 'the mini UART console');
      assert.ok(scr.includes("setenv ota_fdt_load 'load mmc 0:${ota_part} ${fdt_addr_r} /boot/dtbs/${fdtfile}"), 'the slot\'s own device tree');
      const slotA = join(dir, 'slot-A.img');
      writeFileSync(slotA, readFileSync(disk).subarray(9 * MIB, 17 * MIB));
      assert.match(sh('debugfs', ['-R', 'stat /boot/dtbs', slotA]), new RegExp(`Fast link dest: "\\.\\./usr/lib/linux-image-${KERNEL.replace(/\./g, '\\.')}"`), 'slot A links /boot/dtbs to its kernel\'s trees');

      const envFile = join(dir, 'uboot.env');
      writeFileSync(envFile, fatFile(fat, 'uboot.env'));
      assert.is(statSync(envFile).size, 0x4000, 'CONFIG_ENV_SIZE of the rpi builds');
      const vars = decodeEnv([readFileSync(envFile)], 'incremental').vars;
      assert.equal([vars.get('bootcmd'), vars.get('kernel_addr_r'), vars.get('BOOT_ORDER'), vars.get('BOOT_A_LEFT'), vars.get('BOOT_B_LEFT')], ['run distro_bootcmd', '0x00080000', 'A', '3', '0']);
      assert.is(vars.get('board'), board === 'rpi-4' ? 'rpi4' : undefined, 'the defaults are the shipped U-Boot\'s own');
      writeFileSync(join(dir, 'fw_env.config'), `${envFile} 0x0 0x4000\n`);
      const printed = fwPrintenv(join(dir, 'fw_env.config'));
      for (const line of [...DEFAULT_ENV, 'BOOT_ORDER=A', 'BOOT_A_LEFT=3', 'BOOT_B_LEFT=0']) assert.ok(printed.split('\n').includes(line), `fw_printenv: ${line}`);

      sh('bmaptool', ['copy', disk, join(dir, 'copy.img')]);
      assert.ok(readFileSync(join(dir, 'copy.img')).equals(readFileSync(disk)), 'bmaptool copy differs from the image');
    } finally {
      cleanup();
    }
  });
}

const REFUSALS: ReadonlyArray<[string, RegExp]> = [
  ['usr/lib/u-boot/rpi_3', /U-Boot \/usr\/lib\/u-boot\/rpi_3\/u-boot\.bin is not in the root filesystem: install the u-boot-rpi package in it/],
  ['usr/lib/raspi-firmware/bootcode.bin', /the firmware file \/usr\/lib\/raspi-firmware\/bootcode\.bin is not in the root filesystem: install the raspi-firmware package/],
  [`usr/lib/linux-image-${KERNEL}/broadcom`, /device trees \/usr\/lib\/linux-image-6\.1\.0-99-arm64\/broadcom\/\*\.dtb is not in the root filesystem: install the linux-image-arm64 package/],
];
for (const [without, message] of REFUSALS) {
  it(`rpi-3: a root filesystem without /${without} is refused with one line naming it and its package; nothing is written`, async () => {
    const { dir, cleanup } = tempDir('ota-raspi-');
    try {
      makeRootfs(join(dir, 'root'), without);
      const r = await build(dir, 'rpi-3', 'sd.img');
      assert.is(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /IMAGE_BOOT_FILES_MISSING/);
      assert.is(r.stderr.trim().split('\n').filter((l) => !l.startsWith('image: ')).length, 1, r.stderr);
      assert.equal(sh('ls', ['-A', dir]).split('\n').filter((l) => l !== ''), ['root']);
    } finally {
      cleanup();
    }
  });
}

it('--raspi-firmware-root: the firmware and U-Boot come from that tree, the device trees still from the rootfs\'s kernel; refused for a board that is not a Pi', async () => {
  const { dir, cleanup } = tempDir('ota-raspi-');
  try {
    makeRootfs(join(dir, 'fw'));
    writeFileSync(join(dir, 'fw/usr/lib/u-boot/rpi_3/u-boot.bin'), Buffer.from(`other U-Boot\0${DEFAULT_ENV.join('\0')}\0board=other\0\0`, 'latin1'));
    makeRootfs(join(dir, 'root'), 'usr/lib/u-boot');
    rmSync(join(dir, 'root/usr/lib/raspi-firmware'), { recursive: true });
    const args = ['image', 'build', '--agent-deb', agentDeb(), ...SIZES, '--rootfs', 'root', '--raspi-firmware-root', 'fw'];
    const r = await runMain(fleet, [...args, '--board', 'rpi-3', '--out', 'sd.img'], { cwd: dir, now, env: { SOURCE_DATE_EPOCH: EPOCH } });
    assert.is(r.code, 0, r.stderr);
    const fat = `${join(dir, 'sd.img')}@@${MIB}`;
    assert.ok(fatFile(fat, 'u-boot.bin').equals(readFileSync(join(dir, 'fw/usr/lib/u-boot/rpi_3/u-boot.bin'))), 'U-Boot from --raspi-firmware-root');
    assert.ok(fatFile(fat, 'bcm2837-rpi-3-b.dtb').equals(Buffer.from('dtb bcm2837-rpi-3-b.dtb\n')));
    writeFileSync(join(dir, 'uboot.env'), fatFile(fat, 'uboot.env'));
    assert.is(decodeEnv([readFileSync(join(dir, 'uboot.env'))], 'incremental').vars.get('board'), 'other', 'the env defaults are that U-Boot\'s');
    const refused = await runMain(fleet, [...args, '--board', 'qemu-virt-arm64-file-env', '--out', 'virt.img'], { cwd: dir, now, env: { SOURCE_DATE_EPOCH: EPOCH } });
    assert.is(refused.code, 2, 'a usage error');
    assert.match(refused.stderr, /--raspi-firmware-root: board qemu-virt-arm64-file-env does not boot through the Raspberry Pi firmware .*\[USAGE\]/);
  } finally {
    cleanup();
  }
});

test.run();
