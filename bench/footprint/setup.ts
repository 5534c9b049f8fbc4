/**
 * What the footprint bench installs: synthetic "sparse-ish" image pairs (a quarter of each
 * MiB random, the rest zero, as real root filesystems are about half zero blocks) and the
 * real `ota-fleet` / `ota-agent` commands run in-process to make keys, deltas, releases and
 * simulated devices.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { main as agentMain } from '../../agent/src/cli/index.js';
import { main as fleetMain } from '../../fleet/src/cli/index.js';
import { runMain } from '../../test/support/tools.js';

const MiB = 1024 * 1024;
/** Random bytes at the start of every MiB of an image; the rest of the MiB is zero (sparse on disk). */
const RANDOM_BYTES_PER_MIB = 256 * 1024;
/** Places where release 2 differs from release 1, spread over the image. */
const CHANGES = 16;
const CHANGE_BYTES = 16 * 1024;

async function ok(name: string, main: typeof agentMain, cwd: string, argv: readonly string[]): Promise<void> {
  const r = await runMain(main, argv, { cwd });
  if (r.code !== 0) throw new Error(`${name} ${argv.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
}

/** Run `ota-agent ARGV` in-process in `cwd`; throws unless it exits 0. */
export function agentCli(cwd: string, ...argv: string[]): Promise<void> {
  return ok('ota-agent', agentMain, cwd, argv);
}

/** Run `ota-fleet ARGV` in-process in `cwd`; throws unless it exits 0. */
export function fleetCli(cwd: string, ...argv: string[]): Promise<void> {
  return ok('ota-fleet', fleetMain, cwd, argv);
}

/** Write `dir/v1-N.img` and `dir/v2-N.img` (N = `sizeMiB`): release 2 rewrites CHANGES spots of release 1 with new data. */
export function makeImagePair(dir: string, sizeMiB: number): void {
  const v1 = join(dir, `v1-${sizeMiB}.img`);
  const v2 = join(dir, `v2-${sizeMiB}.img`);
  const fd = openSync(v1, 'w');
  try {
    ftruncateSync(fd, sizeMiB * MiB);
    for (let i = 0; i < sizeMiB; i++) writeSync(fd, randomBytes(RANDOM_BYTES_PER_MIB), 0, RANDOM_BYTES_PER_MIB, i * MiB);
  } finally {
    closeSync(fd);
  }
  copyFileSync(v1, v2);
  const fd2 = openSync(v2, 'r+');
  try {
    const stepBytes = Math.floor(sizeMiB * MiB / CHANGES);
    for (let i = 0; i < CHANGES; i++) writeSync(fd2, randomBytes(CHANGE_BYTES), 0, CHANGE_BYTES, i * stepBytes + 4096 * (i + 1));
  } finally {
    closeSync(fd2);
  }
}
