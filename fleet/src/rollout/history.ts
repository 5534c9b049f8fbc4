/**
 * The rollout history: starting a rollout never loses the record of the one before. The state file
 * (`--state`, `./ota-rollout.json` by default) holds the current rollout, as it always did; when a new
 * rollout starts on it, the finished one is first copied (atomically) into `ota-rollouts/<id>.json`
 * next to it. `rollout list` reads both, `rollout show ID` one of them. A state file written before the
 * history existed is simply the current record: nothing to migrate.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { OtaError, errnoCode } from '../../../agent/src/errors/index.js';
import { writeFileAtomic } from '../../../agent/src/durable/index.js';
import { loadState, stateBytes, type ControllerState } from './state.js';

/** The history directory of a state file. */
export function historyDir(file: string): string {
  return join(dirname(file), 'ota-rollouts');
}

/** Copy a rollout's record into the history (before another rollout takes its state file). */
export async function archiveRollout(file: string, s: ControllerState): Promise<string> {
  const dir = historyDir(file);
  await fsp.mkdir(dir, { recursive: true });
  const path = join(dir, `${s.rollout.rolloutId}.json`);
  await writeFileAtomic(path, stateBytes(s));
  return path;
}

/** Every rollout recorded next to `file` (the history and the current one), oldest first. */
export async function listRollouts(file: string): Promise<ControllerState[]> {
  const byId = new Map<string, ControllerState>();
  for (const name of await historyNames(file)) {
    const s = await loadState(join(historyDir(file), name));
    byId.set(s.rollout.rolloutId, s);
  }
  const current = await loadState(file).catch((err: unknown) => {
    if (err instanceof OtaError && err.code === 'ROLLOUT_STATE_MISSING') return undefined;
    throw err;
  });
  if (current !== undefined) byId.set(current.rollout.rolloutId, current);
  return [...byId.values()].sort((a, b) => startedMs(a) - startedMs(b) || (a.rollout.rolloutId < b.rollout.rolloutId ? -1 : 1));
}

/** The record of rollout `id`; ROLLOUT_UNKNOWN naming the ids there are when none has that id. */
export async function findRollout(file: string, id: string): Promise<ControllerState> {
  const all = await listRollouts(file);
  const found = all.find((s) => s.rollout.rolloutId === id);
  if (found !== undefined) return found;
  const known = all.length === 0 ? 'no rollout is recorded there' : `recorded: ${all.map((s) => s.rollout.rolloutId).join(', ')}`;
  throw new OtaError('ROLLOUT_UNKNOWN', `rollout ${id}: not in ${file} nor ${historyDir(file)} (${known}): check the id (ota-fleet rollout list) or pass --state`);
}

/** True when a rollout with this id is recorded next to `file`. */
export async function rolloutRecorded(file: string, id: string): Promise<boolean> {
  return (await listRollouts(file)).some((s) => s.rollout.rolloutId === id);
}

/** When a rollout started (older records without `startedAtMs`: their current stage's start). */
export function startedMs(s: ControllerState): number {
  return s.startedAtMs ?? s.rollout.stageStartedAtMs;
}

async function historyNames(file: string): Promise<string[]> {
  try {
    return (await fsp.readdir(historyDir(file))).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}
