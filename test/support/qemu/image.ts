/**
 * The disk image of the emulated board (built by test/qemu-arm/build-image.sh,
 * cached under .cache/qemu-arm), the edits tests make to a copy of it (a file replaced
 * inside a slot, raw damage), and the private QEMU 10 the NOR flash env needs.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBoardConfig } from '../../../agent/src/boot/index.js';
import type { QemuArch, QemuBuild } from './machine.js';

/** Repository root (this file is build/test/support/qemu/image.js once built). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** Debian tools the image builder and the env helpers run. */
export const IMAGE_TOOLS = ['apt-get', 'dpkg-deb', 'mke2fs', 'mkfs.vfat', 'mcopy', 'sfdisk', 'cpio', 'mkimage', 'mkenvimage',
  'fw_printenv', 'fw_setenv', 'dumpe2fs', 'debugfs', 'e2fsck'] as const;

/** One partition of the disk. */
export interface Partition { offsetBytes: number; sizeBytes: number; device: string }

/** What build-image.sh wrote to layout.json. */
export interface ImageLayout {
  dir: string;
  diskPath: string;
  kernelVersion: string;
  partitions: { boot: Partition; A: Partition; B: Partition; data: Partition };
  board: string;
  /** The board config's CPU architecture (which QEMU, U-Boot and kernel). */
  arch: QemuArch;
  /** `file`: uboot.env on the boot partition; `native`: U-Boot's own store (the NOR flash on QEMU virt). */
  env: { placement: 'file' | 'native'; file: string; sizeBytes: number };
  /** What runs the agent in the slots (build-image.sh OTA_QEMU_INIT): busybox and guest/start.sh, or systemd and the shipped units. */
  init: GuestInit;
}

/** The slot's init: busybox (guest/slot-init, guest/start.sh) or systemd (Debian's, the agent's units as shipped). */
export type GuestInit = 'busybox' | 'systemd';

function guestInit(json: unknown, where: string): GuestInit {
  const v = field(json, 'init') ?? 'busybox';
  if (v !== 'busybox' && v !== 'systemd') throw new Error(`${where}: init ${String(v)} is neither busybox nor systemd`);
  return v;
}

function field(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const value: unknown = Reflect.get(obj, key);
  return value;
}

function num(obj: unknown, key: string, where: string): number {
  const v = field(obj, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${where}: ${key} is not a size`);
  return v;
}

function str(obj: unknown, key: string, where: string, allowEmpty = false): string {
  const v = field(obj, key);
  if (typeof v !== 'string' || (v === '' && !allowEmpty)) throw new Error(`${where}: ${key} is not a string`);
  return v;
}

function placement(env: unknown, where: string): 'file' | 'native' {
  const v = str(env, 'placement', where);
  if (v !== 'file' && v !== 'native') throw new Error(`${where}: env placement ${v} is neither file nor native`);
  return v;
}

function partition(parts: unknown, name: string, where: string): Partition {
  const p = field(parts, name);
  return { offsetBytes: num(p, 'offsetBytes', `${where} ${name}`), sizeBytes: num(p, 'sizeBytes', `${where} ${name}`), device: str(p, 'device', `${where} ${name}`) };
}

/** Reads and validates `dir/layout.json`. */
export function readLayout(dir: string): ImageLayout {
  const where = join(dir, 'layout.json');
  const json: unknown = JSON.parse(readFileSync(where, 'utf8'));
  const parts = field(json, 'partitions');
  const env = field(json, 'env');
  return {
    dir,
    diskPath: join(dir, 'disk.img'),
    kernelVersion: str(json, 'kernelVersion', where),
    partitions: { boot: partition(parts, 'boot', where), A: partition(parts, 'A', where), B: partition(parts, 'B', where), data: partition(parts, 'data', where) },
    board: str(json, 'board', where),
    arch: boardArch(str(json, 'board', where)),
    env: { placement: placement(env, where), file: str(env, 'file', where, true), sizeBytes: num(env, 'sizeBytes', where) },
    init: guestInit(json, where),
  };
}

/** The `arch` of board-configs/<board>.json (layout.json names the board the image was built for). */
function boardArch(board: string): QemuArch {
  const file = `board-configs/${board}.json`;
  return parseBoardConfig(readFileSync(join(repoRoot, file), 'utf8'), file).arch;
}

/** Builds the image for `board` (board-configs/<board>.json) with `init` in its slots if its inputs changed, or takes the cached one. */
export function ensureImage(board: string, init: GuestInit = 'busybox'): ImageLayout {
  const r = spawnSync('bash', [join(repoRoot, 'test', 'qemu-arm', 'build-image.sh')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OTA_QEMU_BOARD: board, OTA_QEMU_INIT: init } });
  const dir = /^IMAGE_DIR=(.+)$/m.exec(r.stdout)?.[1];
  if (r.status !== 0 || dir === undefined) throw new Error(`test/qemu-arm/build-image.sh failed (exit ${String(r.status)}); its messages are above`);
  return readLayout(dir);
}

/** Runs a tool; throws with its stderr when it fails. */
export function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${String(r.status)}): ${r.stderr}`);
  return r.stdout;
}

/** Copies the disk for one test (holes kept, so a copy costs what the data costs). */
export function copyDisk(layout: ImageLayout, to: string): string {
  run('cp', ['--sparse=always', layout.diskPath, to]);
  return to;
}

const MiB = 1024 * 1024;

/** Copies partition `part` of `diskPath` out to the file `to`. */
export function extractPartition(diskPath: string, part: Partition, to: string): string {
  run('dd', [`if=${diskPath}`, `of=${to}`, 'bs=1M', `skip=${part.offsetBytes / MiB}`, `count=${part.sizeBytes / MiB}`, 'status=none', 'conv=sparse']);
  return to;
}

/** Writes the file `from` (at most the partition's size) over partition `part` of `diskPath`. */
export function writePartition(diskPath: string, part: Partition, from: string): void {
  run('dd', [`if=${from}`, `of=${diskPath}`, 'bs=1M', `seek=${part.offsetBytes / MiB}`, `count=${part.sizeBytes / MiB}`, 'status=none', 'conv=notrunc']);
}

/** A file to put into an ext4 image (created or replaced; its folder must exist). */
export interface Ext4File { path: string; content: string | Uint8Array; mode?: number }

/** Writes `files` into the ext4 filesystem image `imagePath` with debugfs, then checks it with e2fsck. */
export function editExt4Image(imagePath: string, workDir: string, files: readonly Ext4File[]): void {
  const commands = files.map((f, i) => {
    const hostFile = join(workDir, `ext4-file-${i}`);
    writeFileSync(hostFile, f.content);
    return `rm ${f.path}\nwrite ${hostFile} ${f.path}\nsif ${f.path} mode 0${(f.mode ?? 0o100644).toString(8)}\n`;
  });
  const script = join(workDir, 'debugfs.cmd');
  writeFileSync(script, commands.join(''));
  run('debugfs', ['-w', '-f', script, imagePath]);
  run('e2fsck', ['-fn', imagePath]);
}

/**
 * Replaces one file inside the ext4 filesystem of partition `part` (debugfs on a copy of the
 * partition, written back in place): e.g. a slot whose /sbin/init is broken.
 */
export function replaceFileInPartition(diskPath: string, part: Partition, workDir: string, guestPath: string, content: string, mode = 0o100755): void {
  const partImg = extractPartition(diskPath, part, join(workDir, 'partition.img'));
  editExt4Image(partImg, workDir, [{ path: guestPath, content, mode }]);
  writePartition(diskPath, part, partImg);
}

/** Overwrites `lengthBytes` at the start of partition `part` with zeros (a slot that cannot even load its kernel). */
export function zeroPartitionStart(diskPath: string, part: Partition, lengthBytes: number): void {
  const fd = openSync(diskPath, 'r+');
  try {
    writeSync(fd, Buffer.alloc(Math.min(lengthBytes, part.sizeBytes)), 0, Math.min(lengthBytes, part.sizeBytes), part.offsetBytes);
  } finally {
    closeSync(fd);
  }
}

/** XORs 4 bytes at `offsetBytes` of `path` with 0xFF (damage a CRC-checked area on purpose). */
export function flipBytes(path: string, offsetBytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    const bytes = Buffer.alloc(4);
    readSync(fd, bytes, 0, 4, offsetBytes);
    writeSync(fd, bytes.map((b) => b ^ 0xff), 0, 4, offsetBytes);
  } finally {
    closeSync(fd);
  }
}

/** QEMU 10 from bookworm-backports in a private folder (fetched once), or why there is none. */
export function fetchQemu10(): QemuBuild | { reason: string } {
  const r = spawnSync('bash', [join(repoRoot, 'test', 'qemu-arm', 'fetch-qemu10.sh')], { encoding: 'utf8' });
  const root = /^QEMU_ROOT=(.+)$/m.exec(r.stdout)?.[1];
  if (r.status !== 0 || root === undefined) return { reason: `no QEMU 10: ${r.stderr.trim().split('\n').pop() ?? `exit ${String(r.status)}`}` };
  const moduleDir = readdirSync(join(root, 'usr', 'lib')).map((d) => join(root, 'usr', 'lib', d, 'qemu')).find((d) => existsSync(d));
  return { binary: join(root, 'usr', 'bin', 'qemu-system-aarch64'), dataDir: join(root, 'usr', 'share', 'qemu'), moduleDir: moduleDir ?? join(root, 'none') };
}

/** U-Boot for QEMU virt arm64 with a redundant env in NOR flash (built once from Debian's source), or why there is none. */
export function buildRedundantUboot(): string | { reason: string } {
  const r = spawnSync('bash', [join(repoRoot, 'test', 'qemu-arm', 'build-uboot-redundant.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const bin = /^UBOOT_BIN=(.+)$/m.exec(r.stdout)?.[1];
  if (r.status !== 0 || bin === undefined) return { reason: `no U-Boot with a redundant env: ${r.stderr.trim().split('\n').pop() ?? `exit ${String(r.status)}`}` };
  return bin;
}
