/**
 * ext4 filesystems made from a tree with `mke2fs -d`, reproducibly: a fixed UUID and directory hash
 * seed, E2FSPROGS_FAKE_TIME for the superblock and creation times, and ctime and atime (which
 * mke2fs copies from the tree, and which no tool can set on the tree) set to SOURCE_DATE_EPOCH
 * with debugfs. Made in a file of its own or in place inside the disk image (at an offset).
 */
import { promises as fsp } from 'node:fs';
import { OtaError } from '../../../agent/src/errors/index.js';
import { runTool, type ToolEnv } from './tools.js';

/** One filesystem to make. */
export interface Ext4Spec {
  /** The tree to copy in (`mke2fs -d`). */
  readonly tree: string;
  /** The file to write: the filesystem alone, or the disk with `offsetBytes`. */
  readonly file: string;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly label: string;
  readonly uuid: string;
  /** Features (`-O`): the read-only slot has no journal and no uninit_bg; the data partition keeps ext4's defaults. */
  readonly features: string | undefined;
  /** What the filesystem is, in messages (`slot A`). */
  readonly what: string;
  /** Error code of a failed mke2fs (the slot's: the root did not fit). */
  readonly failCode: string;
}

/** Every path of the tree as the filesystem names it (`/`, `/etc`, ...), sorted, raw bytes kept (latin1). */
async function treePaths(env: ToolEnv, tree: string): Promise<string[]> {
  const { stdout } = await runTool(env, `${tree}: list`, 'IMAGE_ROOTFS_INVALID', 'find', [tree, '-mindepth', '1', '-printf', '%P\\0'], true);
  const names = Buffer.from(stdout, 'utf8').toString('latin1').split('\0').filter((n) => n !== '');
  const bad = names.find((n) => /["\n\\]/.test(n));
  if (bad !== undefined) throw new OtaError('IMAGE_ROOTFS_INVALID', `rootfs: the name ${JSON.stringify(bad)} holds a quote, backslash or newline, which debugfs cannot name: rename it`);
  return ['/', ...names.sort().map((n) => `/${n}`)];
}

/** Make the filesystem of `spec`. */
export async function makeExt4(env: ToolEnv, spec: Ext4Spec): Promise<void> {
  const ext = [`hash_seed=${spec.uuid}`, 'root_owner=0:0', 'nodiscard', ...(spec.offsetBytes > 0 ? [`offset=${spec.offsetBytes}`] : [])].join(',');
  await runTool(env, `${spec.what}: mke2fs`, spec.failCode, 'mke2fs', [
    '-q', '-F', '-t', 'ext4', ...(spec.features === undefined ? [] : ['-O', spec.features]), '-b', '4096', '-m', '0',
    '-L', spec.label, '-U', spec.uuid, '-E', ext, '-d', spec.tree, spec.file, `${spec.sizeBytes / 1024}k`,
  ], true);
  const e = `@${env.epochSeconds}`;
  const script = (await treePaths(env, spec.tree)).map((p) => `sif "${p}" ctime ${e}\nsif "${p}" atime ${e}\n`).join('');
  const cmds = `${spec.file}.debugfs`;
  await fsp.writeFile(cmds, Buffer.from(script, 'latin1'));
  try {
    const device = spec.offsetBytes > 0 ? `${spec.file}?offset=${spec.offsetBytes}` : spec.file;
    const { stderr } = await runTool(env, `${spec.what}: timestamps`, 'IMAGE_FS', 'debugfs', ['-w', '-f', cmds, device]);
    const problems = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('debugfs '));
    if (problems.length > 0) throw new OtaError('IMAGE_FS', `${spec.what}: debugfs: ${problems[0] ?? ''}`);
  } finally {
    await fsp.rm(cmds, { force: true });
  }
}
