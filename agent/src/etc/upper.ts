/**
 * A slot's overlay directories on the data partition and the copy of one
 * slot's upper directory into another's. The layout (docs/data-partition.md):
 * `OVERLAY/<SLOT>/etc/upper` (the device's changes to /etc while that slot
 * runs) and `OVERLAY/<SLOT>/etc/work` (overlayfs's work directory, same
 * filesystem, empty when mounted).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir } from '../durable/index.js';
import { OtaError, describe, errnoCode, withContext } from '../errors/index.js';
import { spawnCommand } from '../health/index.js';
import { entryAt } from './manifest.js';
import type { UpperEntry } from './conflicts.js';

/** The upper directory of `slot` under the overlay root. */
export function upperDirOf(overlayDir: string, slot: string): string {
  return join(overlayDir, slot, 'etc', 'upper');
}

/** True for an overlayfs whiteout: a character device 0/0 (the device deleted the lower file). */
function isWhiteout(st: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Every path of the upper directory `dir` (missing: empty), whiteouts told apart; file contents hashed. */
export async function scanUpper(dir: string): Promise<Map<string, UpperEntry>> {
  const out = new Map<string, UpperEntry>();
  const walk = async (rel: string): Promise<void> => {
    const names = await fsp.readdir(rel === '' ? dir : join(dir, rel)).catch((err: unknown) => {
      if (rel === '' && errnoCode(err) === 'ENOENT') return [];
      throw withContext(`etc: upper directory ${dir}`, err);
    });
    for (const name of names.sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(dir, path);
      const st = await fsp.lstat(abs);
      const entry: UpperEntry | undefined = isWhiteout(st) ? { kind: 'whiteout' } : await entryAt(abs);
      if (entry === undefined) continue;
      out.set(path, entry);
      if (entry.kind === 'dir') await walk(path);
    }
  };
  await walk('');
  return out;
}

/**
 * Make `to` a fresh copy of `from` (missing: an empty upper) with an empty work directory beside it:
 * `cp -a` (modes, owners, times, symlinks, whiteouts; GNU cp also the overlay xattrs of opaque
 * directories) into `.<SLOT>.new`, every file and directory fsynced, then the old tree removed and the
 * new one renamed into place. Nothing reads `to` meanwhile: its slot is out of the boot order until armed.
 */
export async function copyUpper(overlayDir: string, from: string, to: string, signal = new AbortController().signal): Promise<void> {
  await copyInto(overlayDir, from, to, signal).catch((err: unknown) => {
    throw withContext(`etc: carrying slot ${from}'s /etc changes to slot ${to} under ${overlayDir} (the data partition must be mounted, writable, not full)`, err, 'ETC_COPY');
  });
}

async function copyInto(overlayDir: string, from: string, to: string, signal: AbortSignal): Promise<void> {
  const slotDir = join(overlayDir, to);
  const fresh = join(overlayDir, `.${to}.new`);
  await fsp.rm(fresh, { recursive: true, force: true });
  await fsp.mkdir(join(fresh, 'etc', 'work'), { recursive: true, mode: 0o755 });
  const source = upperDirOf(overlayDir, from);
  const dest = join(fresh, 'etc', 'upper');
  if (await fsp.stat(source).then(() => true, () => false)) await run(['cp', '-a', '--', source, dest], signal);
  else await fsp.mkdir(dest, { mode: 0o755 });
  await syncTree(fresh);
  await fsp.rm(slotDir, { recursive: true, force: true });
  await fsp.rename(fresh, slotDir);
  await fsyncDir(overlayDir);
}

/** fsync every regular file and directory under `dir`, children first (the data, then the names). */
async function syncTree(dir: string): Promise<void> {
  for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, d.name);
    if (d.isDirectory()) await syncTree(abs);
    else if (d.isFile()) await syncFile(abs);
  }
  await fsyncDir(dir);
}

async function syncFile(abs: string): Promise<void> {
  const fh = await fsp.open(abs, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

/** Run `argv` (its failure is an ETC_COPY error saying what to check). */
async function run(argv: readonly string[], signal: AbortSignal): Promise<void> {
  const r = await spawnCommand(argv, signal).catch((err: unknown) => { throw new OtaError('ETC_COPY', `etc: cannot run ${argv[0] ?? '?'}: ${describe(err)}`, { cause: err }); });
  if (r.exitCode !== 0) {
    throw new OtaError('ETC_COPY', `etc: ${argv.join(' ')} failed (${r.exitCode === null ? 'killed' : `exit ${r.exitCode}`}): ${r.stderrTail.split('\n')[0] ?? ''}: check the data partition (space, errors)`);
  }
}
