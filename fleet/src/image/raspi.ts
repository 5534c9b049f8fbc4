/**
 * The boot partition of a Raspberry Pi: the board's GPU firmware starts first (bootcode.bin on the
 * Pi 3, the EEPROM on the Pi 4, then start*.elf with its fixup*.dat), reads `config.txt`, loads the
 * device tree of the board from the partition, and starts `kernel=`, which is U-Boot; U-Boot then
 * runs boot.scr, which picks the slot. A board is a Raspberry Pi when its U-Boot is one of the
 * `rpi_*` builds (`uboot.defconfig` in the board config).
 *
 * Where the files come from: the root filesystem itself. A Debian root filesystem for the Pi has
 * `raspi-firmware` (/usr/lib/raspi-firmware), `u-boot-rpi` (/usr/lib/u-boot/rpi_3, rpi_4, rpi_arm64)
 * and its kernel's device trees (/usr/lib/linux-image-VERSION/broadcom/*.dtb, overlays/ beside them
 * when the kernel ships some), so the image boots the firmware, U-Boot and device trees of the
 * packages the vendor chose and pinned with the rest of the slot. A missing piece is refused with
 * one line naming the file and the package to install.
 *
 * The trees go on the FAT too (the firmware wants one), but boot.scr boots the slot's own (/boot/dtbs, linked
 * here) and the firmware's only when a slot has none: see docs/boot-partition-updates.md.
 *
 * U-Boot's env on the Pi is U-Boot's own (CONFIG_ENV_IS_IN_FAT, uboot.env on mmc 0:1). A valid
 * uboot.env replaces U-Boot's built-in default env entirely, so the image's uboot.env is U-Boot's
 * default env read out of the very u-boot.bin it ships (defaultEnvOf), with the slot state on top.
 */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import { checkName, checkValue, type EnvVars } from '../../../agent/src/bootenv/index.js';
import { OtaError, errnoCode } from '../../../agent/src/errors/index.js';
import type { FatFile } from './disk.js';

/** What the firmware of each Raspberry Pi U-Boot build needs on the FAT, beyond what every Pi takes. */
const BOARDS: Readonly<Record<string, { readonly ubootDir: string; readonly firmware: readonly string[]; readonly config: readonly string[] }>> = {
  rpi_3_defconfig: { ubootDir: 'rpi_3', firmware: ['bootcode.bin', 'start.elf', 'fixup.dat'], config: [] },
  rpi_4_defconfig: { ubootDir: 'rpi_4', firmware: ['start4.elf', 'fixup4.dat'], config: [] },
  // one U-Boot for the 3 and the 4: the firmware of both
  rpi_arm64_defconfig: { ubootDir: 'rpi_arm64', firmware: ['bootcode.bin', 'start.elf', 'fixup.dat', 'start4.elf', 'fixup4.dat'], config: [] },
};

/** The firmware files taken when present: every start*.elf / fixup*.dat variant (cut-down, debug, extended). */
const FIRMWARE_FILE = /^(bootcode\.bin|start[0-9a-z_]*\.elf|fixup[0-9a-z_]*\.dat)$/;
/** Where Debian's packages put the pieces, inside the root filesystem. */
export const RASPI_FIRMWARE_DIR = 'usr/lib/raspi-firmware';
const UBOOT_DIR = 'usr/lib/u-boot';
const KERNEL_LIB = 'usr/lib';

/** The boot files of a Raspberry Pi image, and U-Boot's default env. */
export interface RaspiBoot {
  readonly files: FatFile[];
  /** U-Boot's built-in default env, read out of its binary. */
  readonly envDefaults: EnvVars;
}

/** True when `board` boots through the Raspberry Pi firmware (an rpi_* U-Boot). */
export function isRaspi(board: BoardConfig): boolean {
  return Object.hasOwn(BOARDS, board.uboot.defconfig);
}

/**
 * `config.txt` of `board`: 64-bit, U-Boot as the kernel, the mini UART on (U-Boot's and the kernel's
 * console), upstream device tree names (Debian's kernel ships bcm2837-rpi-3-b.dtb, not the vendor
 * tree's bcm2710-rpi-3-b.dtb), and no boot delay.
 */
export function configTxt(board: BoardConfig): string {
  const extra = BOARDS[board.uboot.defconfig]?.config ?? [];
  return [
    `# ${board.name}: written by ota-fleet image build. The firmware reads this; U-Boot (kernel=) runs boot.scr,`,
    '# which picks slot A or B and boots the kernel of that slot with that slot\'s device tree (/boot/dtbs).',
    'arm_64bit=1', 'kernel=u-boot.bin', 'enable_uart=1', 'upstream_kernel=1', 'boot_delay=0', ...extra, '',
  ].join('\n');
}

function missing(what: string, path: string, pkg: string, where = 'the root filesystem'): OtaError {
  return new OtaError('IMAGE_BOOT_FILES_MISSING', `raspberry pi boot files: ${what} /${path} is not in ${where}: install the ${pkg} package in it`);
}

async function names(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir).catch((err: unknown) => { if (errnoCode(err) === 'ENOENT') return []; throw err; })).sort();
}

/** The kernel library folder whose device trees ship: the one /boot/vmlinuz names, or the only one. */
async function kernelDir(tree: string): Promise<string> {
  const dirs = (await names(join(tree, KERNEL_LIB))).filter((n) => n.startsWith('linux-image-'));
  const link = await fsp.readlink(join(tree, 'boot/vmlinuz')).catch(() => '');
  const version = /vmlinuz-(.+)$/.exec(link)?.[1];
  const chosen = version !== undefined && dirs.includes(`linux-image-${version}`) ? `linux-image-${version}` : dirs.length === 1 ? dirs[0] : undefined;
  if (chosen === undefined) {
    if (dirs.length === 0) throw missing('the kernel\'s device trees', `${KERNEL_LIB}/linux-image-*/broadcom`, 'linux-image-arm64');
    throw new OtaError('IMAGE_BOOT_FILES_MISSING', `raspberry pi boot files: several kernels in /${KERNEL_LIB} (${dirs.join(', ')}) and /boot/vmlinuz names none of them: point /boot/vmlinuz at the one to boot`);
  }
  return join(tree, KERNEL_LIB, chosen);
}

/**
 * The slot's own device trees, where boot.scr loads them (`/boot/dtbs/${fdtfile}`, the board settings'
 * `ota_fdt_load`): `/boot/dtbs`, a relative link to the kernel's folder, so the tree changes with the kernel
 * in the slot and a rollback boots the old kernel with its own tree. An existing /boot/dtbs is kept.
 */
async function linkSlotTrees(tree: string): Promise<void> {
  const dir = await kernelDir(tree);
  const link = join(tree, 'boot/dtbs');
  if (await fsp.lstat(link).then(() => true, () => false)) return;
  await fsp.mkdir(join(tree, 'boot'), { recursive: true });
  await fsp.symlink(`../${KERNEL_LIB}/${basename(dir)}`, link);
}

/** The device trees (broadcom/*.dtb at the FAT's root, where the firmware looks) and overlays/ when present. */
async function deviceTrees(tree: string): Promise<FatFile[]> {
  const dir = await kernelDir(tree);
  const dtbs = (await names(join(dir, 'broadcom'))).filter((n) => n.endsWith('.dtb'));
  if (dtbs.length === 0) throw missing('device trees', `${dir.slice(tree.length + 1)}/broadcom/*.dtb`, 'linux-image-arm64');
  const overlays = (await names(join(dir, 'overlays'))).filter((n) => n.endsWith('.dtbo'));
  return [
    ...dtbs.map((n) => ({ name: n, path: join(dir, 'broadcom', n) })),
    ...overlays.map((n) => ({ name: `overlays/${n}`, path: join(dir, 'overlays', n) })),
  ];
}

/**
 * U-Boot's built-in default env, read from its binary: the block of `name=value` strings that starts
 * with `bootcmd=` and ends with an empty string (U-Boot's `default_environment`, include/env_default.h).
 * Refused unless exactly one such block holds bootcmd, arch and kernel_addr_r.
 */
export function defaultEnvOf(binary: Uint8Array, source: string): EnvVars {
  const text = Buffer.from(binary).toString('latin1');
  const found: Array<Map<string, string>> = [];
  for (let at = text.indexOf('\0bootcmd='); at >= 0; at = text.indexOf('\0bootcmd=', at + 1)) {
    const end = text.indexOf('\0\0', at + 1);
    const entries = text.slice(at + 1, end < 0 ? undefined : end).split('\0');
    if (!entries.every((e) => /^[\x21-\x3c\x3e-\x7e]+=[\x20-\x7e]*$/.test(e))) continue;
    const vars = new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    if (vars.has('arch') && vars.has('kernel_addr_r')) found.push(vars);
  }
  const [vars] = found;
  if (found.length !== 1 || vars === undefined) throw new OtaError('IMAGE_UBOOT_ENV', `${source}: ${found.length === 0 ? 'no' : 'more than one'} default env (bootcmd=..., arch=, kernel_addr_r=) found in the U-Boot binary: pass it with --uboot-env-defaults`);
  for (const [name, value] of vars) { checkName(name); checkValue(name, value); }
  return vars;
}

/**
 * Everything the FAT of a Raspberry Pi image takes from the root filesystem `tree`, copied into `work`;
 * the firmware and U-Boot from `firmwareRoot` instead when given (`--raspi-firmware-root`: a tree laid out
 * as Debian's packages lay it out), the device trees always from the tree's kernel, which they belong to.
 */
export async function raspiBoot(board: BoardConfig, tree: string, work: string, firmwareRoot = tree): Promise<RaspiBoot> {
  const spec = BOARDS[board.uboot.defconfig];
  if (spec === undefined) throw new OtaError('INTERNAL', `board ${board.board} is not a Raspberry Pi`);
  const fw = join(firmwareRoot, RASPI_FIRMWARE_DIR);
  const present = await names(fw);
  const where = firmwareRoot === tree ? 'the root filesystem' : `--raspi-firmware-root ${firmwareRoot}`;
  for (const f of spec.firmware) if (!present.includes(f)) throw missing('the firmware file', `${RASPI_FIRMWARE_DIR}/${f}`, 'raspi-firmware', where);
  const uboot = join(firmwareRoot, UBOOT_DIR, spec.ubootDir, 'u-boot.bin');
  const binary = await fsp.readFile(uboot).catch((err: unknown) => { if (errnoCode(err) === 'ENOENT') throw missing('U-Boot', `${UBOOT_DIR}/${spec.ubootDir}/u-boot.bin`, 'u-boot-rpi', where); throw err; });
  const out = join(work, 'raspi');
  await fsp.mkdir(out);
  // copied out of the tree: the tree is deleted once slot A is made, the FAT is assembled later
  const wanted: FatFile[] = [
    ...present.filter((n) => FIRMWARE_FILE.test(n)).map((n) => ({ name: n, path: join(fw, n) })),
    { name: 'u-boot.bin', path: uboot },
    ...await deviceTrees(tree),
  ];
  await linkSlotTrees(tree);
  const files: FatFile[] = [];
  for (const [i, f] of wanted.entries()) {
    const copy = join(out, String(i));
    await fsp.copyFile(f.path, copy);
    files.push({ name: f.name, path: copy });
  }
  await fsp.writeFile(join(out, 'config.txt'), configTxt(board));
  files.push({ name: 'config.txt', path: join(out, 'config.txt') });
  return { files, envDefaults: defaultEnvOf(binary, `/${UBOOT_DIR}/${spec.ubootDir}/u-boot.bin`) };
}
