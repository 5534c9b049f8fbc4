/**
 * What scenario 4 (power-cut.ts) reads on the host between boots: the env with fw_printenv and our
 * codec, the agent's journal from the data partition, slot and release hashes.
 */
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJournal, type JournalRecord } from '../../agent/src/machine/index.js';
import { GUEST_PATHS, extractPartition, type GuestDevice, type GuestRelease, type ImageLayout } from '../support/qemu/index.js';

/** sha256 of a whole file. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}


/** The board's env as both host readers see it; null when neither can read it (a torn single copy). */
export async function hostEnv(device: GuestDevice, when: string): Promise<Map<string, string> | null> {
  const attempt = async <T>(read: () => T | Promise<T>): Promise<T | Error> => {
    try {
      return await read();
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };
  const fw = await attempt(() => device.env.read());
  const codec = await attempt(async () => new Map(await device.env.decode()));
  if (fw instanceof Error || codec instanceof Error) {
    assert.ok(fw instanceof Error && codec instanceof Error,
      `${when}: fw_printenv and our codec disagree on whether the env is valid (fw_printenv: ${fw instanceof Error ? fw.message : 'ok'}; codec: ${codec instanceof Error ? codec.message : 'ok'})`);
    return null;
  }
  assert.equal(new Map([...codec].sort()), new Map([...fw].sort()), `${when}: our codec reads what fw_printenv reads`);
  return fw;
}

/** The agent's journal on the data partition, read on the host (null: none yet). */
export async function hostJournal(device: GuestDevice, layout: ImageLayout, workDir: string): Promise<JournalRecord | null> {
  const data = extractPartition(device.disk, layout.partitions.data, join(workDir, 'data.img'));
  // the data partition's ext4 has a journal: the agent's last fsynced writes may live only there
  // until the next mount replays it; e2fsck replays it on this copy (debugfs alone would not)
  const fsck = spawnSync('e2fsck', ['-fy', data], { encoding: 'utf8' });
  if (fsck.status === null || fsck.status > 2) throw new Error(`e2fsck on a copy of the data partition: exit ${String(fsck.status)}: ${fsck.stdout}${fsck.stderr}`);
  const r = spawnSync('debugfs', ['-R', `cat ${GUEST_PATHS.dataDir.replace(/^\/data/, '')}/journal.json`, data], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`debugfs on the data partition failed: ${r.stderr}`);
  if (r.stdout.trim() === '') return null;
  const loaded = decodeJournal(r.stdout);
  if (loaded.kind !== 'ok') throw new Error(`the journal on the data partition is ${loaded.kind}: it is written atomically, a cut must not tear it`);
  return loaded.record;
}


/** Size of the release's delta (the artifact the device downloads). */
export function deltaSize(release: GuestRelease): number {
  const targets = join(release.dir, 'targets');
  const delta = readdirSync(targets).find((f) => f.endsWith('.delta'));
  if (delta === undefined) throw new Error(`${targets}: no delta`);
  return statSync(join(targets, delta)).size;
}
