/**
 * boot.scr of an image: the board's prologue and bootloader/boot.cmd, compiled by mkimage (as
 * bootloader/build.sh does), with one change to the board's settings: the kernel starts the pre-init
 * the package installs (`init=/usr/lib/ota-agent/ota-init`) on a read-only root (`ro`, never `rw`),
 * as docs/data-partition.md requires. Only images from `image build` carry it: they are the ones that
 * install the package and lay out the data partition; boot scripts built by build.sh stay as they were.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { boardPrologue, type BoardConfig } from '../../../agent/src/boot/index.js';
import { withContext } from '../../../agent/src/errors/index.js';
import { PRE_INIT } from './agent.js';
import type { FatFile } from './disk.js';
import { runTool, type ToolEnv } from './tools.js';

/**
 * The kernel arguments of an image: the board's `ota_bootargs` (else boot.cmd's default, read from
 * `bootCmd`) without `rw`, `ro` or `init=`, then `ro init=PRE_INIT`.
 */
export function imageBootargs(board: BoardConfig, bootCmd: string): string {
  const given = board.script['ota_bootargs'] ?? /setenv ota_bootargs "([^"]*)"/.exec(bootCmd)?.[1] ?? '';
  const own = given.split(/\s+/).filter((w) => w !== '' && w !== 'rw' && w !== 'ro' && !w.startsWith('init='));
  return [...own, 'ro', `init=${PRE_INIT}`].join(' ');
}

/** Compile boot.scr for `board` into `work`. */
export async function bootScript(env: ToolEnv, board: BoardConfig, sourceRoot: string, work: string): Promise<FatFile> {
  const cmd = await fsp.readFile(join(sourceRoot, 'bootloader/boot.cmd'), 'utf8').catch((err: unknown) => { throw withContext('boot script: bootloader/boot.cmd', err); });
  await fsp.writeFile(join(work, 'boot.cmd'), `${boardPrologue({ ...board, script: { ...board.script, ota_bootargs: imageBootargs(board, cmd) } })}${cmd}`); // build.sh's bytes, but for ota_bootargs
  await runTool(env, 'boot script: mkimage', 'IMAGE_FS', 'mkimage', ['-A', board.arch, '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'ota-agent A/B boot', '-d', join(work, 'boot.cmd'), join(work, 'boot.scr')]);
  return { name: 'boot.scr', path: join(work, 'boot.scr') };
}
