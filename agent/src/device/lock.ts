/**
 * One agent process at a time changes a device: `run`, `install`, `post-boot`,
 * `sim boot` and the operator commands take `agent.lock` in the data directory
 * (created exclusively, holding the pid and the kernel's boot id). A lock left
 * by a process that is gone, or by an earlier boot, is stale and taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OtaError, errnoCode, withContext } from '../errors/index.js';
import { bootId } from './boot-id.js';

/** Releases the lock. */
export type Unlock = () => Promise<void>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Take the device lock in `dataDir`; refuses with AGENT_BUSY while another live agent holds it. */
export async function lockDevice(dataDir: string, what: string): Promise<Unlock> {
  const file = join(dataDir, 'agent.lock');
  const thisBoot = await bootId();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify({ pid: process.pid, bootId: thisBoot, what })}\n`);
      } finally {
        await fh.close();
      }
      return () => rm(file, { force: true });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw withContext(`agent lock ${file}`, err);
    }
    const holder = await readHolder(file);
    if (holder !== undefined && holder.bootId === thisBoot && holder.pid !== process.pid && alive(holder.pid)) {
      throw new OtaError('AGENT_BUSY', `another ota-agent (pid ${holder.pid}, ${holder.what}) is working on this device (${file}): wait for it, or stop it first`, { transient: true });
    }
    await rm(file, { force: true });
  }
  throw new OtaError('AGENT_BUSY', `agent lock ${file} was taken by another process while this one started: try again`, { transient: true });
}

async function readHolder(file: string): Promise<{ pid: number; bootId: string; what: string } | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const pid = 'pid' in json ? json.pid : undefined;
  const bootId = 'bootId' in json ? json.bootId : undefined;
  const what = 'what' in json ? json.what : undefined;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || typeof bootId !== 'string') return undefined;
  return { pid, bootId, what: typeof what === 'string' ? what : 'unknown' };
}
