/**
 * The root filesystem of slot A: unpacked (a tar keeps its owners, modes and device nodes) into a
 * work tree, then made into a journal-less ext4 image with `mke2fs -d`.
 *
 * Owners without root: every step that creates files (tar, cp, dpkg-deb) and `mke2fs -d`, which reads
 * them back, runs under one fakeroot session (`fakeroot -i/-s STATE`): chown and mknod are recorded
 * in its state file and `stat` reports them to mke2fs, so the image holds the tar's owners, modes and
 * device nodes although the work tree on the disk belongs to the caller. This is how Debian builds
 * packages without root, and e2fsprogs 1.47.0 (bookworm) cannot read a tar itself (`mke2fs -d` takes a
 * tar from 1.47.1). As root no fakeroot is needed. A directory rootfs run as non-root: its files keep
 * the owners stat gives (cp -a under fakeroot), except the caller's own files, which become root's (0:0).
 *
 * Why no journal: the booted slot is the base of the next delta and must read back exactly as
 * released, but the kernel rewrites the journal superblock (jbd2) and the bitmaps of uninitialised block
 * groups in the block device's page cache even on a read-only mount; so no journal, no uninit_bg (as
 * test/qemu-arm/build-image.sh). Timestamps: mtimes after SOURCE_DATE_EPOCH are clamped to it; ctime and
 * atime (which mke2fs copies from the work tree) are set to it with debugfs.
 */
import { promises as fsp } from 'node:fs';
import { OtaError, errnoCode } from '../../../agent/src/errors/index.js';
import { runTool, type ToolEnv } from './tools.js';

/** A root filesystem given to `--rootfs`. */
export type RootfsSource =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'tar'; readonly path: string; readonly compression: 'none' | 'gzip' | 'zstd' };

const TAR_KINDS: ReadonlyArray<[RegExp, 'none' | 'gzip' | 'zstd']> = [[/\.tar$/, 'none'], [/\.(tar\.gz|tgz)$/, 'gzip'], [/\.tar\.zst$/, 'zstd']];

/** Check `--rootfs` (exists, a directory or a .tar / .tar.gz / .tar.zst file) before any work. */
export async function rootfsSource(path: string): Promise<RootfsSource> {
  const st = await fsp.stat(path).catch((err: unknown) => {
    throw new OtaError('IMAGE_ROOTFS_MISSING', `--rootfs ${path}: cannot read it (${errnoCode(err) ?? String(err)}): give a directory or a .tar, .tar.gz or .tar.zst file`);
  });
  if (st.isDirectory()) return { kind: 'dir', path };
  const kind = TAR_KINDS.find(([re]) => re.test(path));
  if (!st.isFile() || kind === undefined) throw new OtaError('IMAGE_ROOTFS_INVALID', `--rootfs ${path}: give a directory or a .tar, .tar.gz or .tar.zst file`);
  return { kind: 'tar', path, compression: kind[1] };
}

/** Bytes the files of a tree take (du), to refuse a root that cannot fit before mke2fs runs. */
export async function treeBytes(env: ToolEnv, path: string): Promise<number> {
  const { stdout } = await runTool(env, `rootfs ${path}: size`, 'IMAGE_ROOTFS_INVALID', 'du', ['-s', '-B1', '--', path], true);
  return Number(stdout.split('\t')[0]);
}

/** Unpack or copy the source into the empty directory `tree` (owners kept, under fakeroot when not root). */
export async function unpackRootfs(env: ToolEnv, src: RootfsSource, tree: string): Promise<void> {
  if (src.kind === 'dir') {
    await runTool(env, `--rootfs ${src.path}: copy`, 'IMAGE_ROOTFS_INVALID', 'cp', ['-a', '--', `${src.path}/.`, tree], true);
    return;
  }
  const z = { none: [], gzip: ['--gzip'], zstd: ['--zstd'] }[src.compression];
  await runTool(env, `--rootfs ${src.path}: not a readable ${src.compression === 'none' ? '' : `${src.compression} `}tar`, 'IMAGE_ROOTFS_INVALID', 'tar',
    ['-x', ...z, '-p', '--same-owner', '--numeric-owner', '-f', src.path, '-C', tree], true);
}

/** Clamp every mtime after the epoch to it (reproducible: files added by the build are dated the epoch). */
export async function clampTimes(env: ToolEnv, tree: string): Promise<void> {
  await runTool(env, 'rootfs: timestamps', 'IMAGE_ROOTFS_INVALID', 'find', [tree, '-newermt', `@${env.epochSeconds}`, '-exec', 'touch', '-h', '-d', `@${env.epochSeconds}`, '{}', '+'], true);
}

/** Refuse a tree that cannot fit in a slot, before mke2fs runs. */
export async function checkFits(env: ToolEnv, tree: string, slotBytes: number): Promise<void> {
  const used = await treeBytes(env, tree);
  if (used > slotBytes) throw new OtaError('IMAGE_ROOTFS_TOO_LARGE', `rootfs: its files take ${used} bytes but a slot holds ${slotBytes}: give a larger --slot-size`);
}
