/**
 * The data directory (journal, trusted root, floors, slot records) must be a
 * directory on a real filesystem. Under /proc or /sys nothing can be stored
 * (and `mkdir -p` under /proc never returns); a regular file in its place
 * fails every write. Checked once, when the device is opened, with one typed
 * error each; a read-only command checks without creating anything.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OtaError, errnoCode, withContext } from '../errors/index.js';
import { mkdirDurable } from '../durable/index.js';

/** Kernel pseudo filesystems (statfs f_type, linux/magic.h) where no state can live. */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'], [0x62656572, 'sysfs'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'], [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x1cd1, 'devpts'], [0x62656570, 'configfs'], [0xcafe4a11, 'bpf'],
]);

/** Open the data directory at `dir`: checked always, created (durably) only when `create`. */
export async function prepareDataDir(dir: string, create: boolean): Promise<void> {
  const fix = 'set dataDir in the agent config to a directory on the data partition';
  let existing = path.resolve(dir);
  for (;;) {
    const st = await fsp.stat(existing).catch((err: unknown) => {
      // ENOTDIR: a file further up is in the way; the walk up finds it
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw withContext(`data directory ${dir}: ${existing}`, err, 'DATA_DIR');
    });
    if (st !== undefined) {
      if (!st.isDirectory()) {
        throw new OtaError('DATA_DIR_NOT_DIRECTORY', `data directory ${dir}: ${existing} is ${st.isFile() ? 'a regular file' : 'not a directory'}: ${fix}`);
      }
      break;
    }
    if (existing === path.dirname(existing)) break;
    existing = path.dirname(existing);
  }
  const fs = await pseudoFilesystem(existing);
  if (fs !== undefined) throw new OtaError('DATA_DIR_PSEUDO_FS', `data directory ${dir} is on ${fs} (${existing}), which stores nothing: ${fix}`);
  if (create) await mkdirDurable(dir).catch((err: unknown) => { throw withContext(`data directory ${dir}`, err, 'DATA_DIR'); });
}

/** The name of the kernel pseudo filesystem `dir` is on, or undefined (statfs unavailable: assumed real). */
async function pseudoFilesystem(dir: string): Promise<string | undefined> {
  if (typeof fsp.statfs !== 'function') return undefined;
  const { type } = await fsp.statfs(dir);
  return PSEUDO_FILESYSTEMS.get(type);
}
