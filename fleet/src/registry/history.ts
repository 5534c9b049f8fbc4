/**
 * Rollouts in the store: the record, its events in order, and each device's latest outcome.
 */
import { toNumber, toText, toTextOrNull, type SqlDb, type SqlRow } from './sql.js';
import type { RolloutEvent, RolloutHistory, RolloutOutcome, RolloutRecord } from './types.js';

/** Create or update a rollout's record. */
export async function putRollout(db: SqlDb, r: RolloutRecord): Promise<void> {
  await db.run(`INSERT INTO rollouts (rollout_id, release_version, hardware, group_name, canaries, stages, status, reason, started_ms, updated_ms)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (rollout_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, updated_ms = excluded.updated_ms`,
  [r.rolloutId, r.releaseVersion, JSON.stringify(r.hardware), r.group, JSON.stringify(r.canaries), JSON.stringify(r.stagesPercent), r.status, r.reason, r.startedMs, r.updatedMs]);
}

/** Append an event (numbered per rollout). */
export async function addEvent(db: SqlDb, e: RolloutEvent): Promise<void> {
  await db.transaction(async (tx) => {
    const last = (await tx.query('SELECT MAX(n) AS n FROM rollout_events WHERE rollout_id = ?', [e.rolloutId]))[0]?.['n'];
    const n = last === null || last === undefined ? 1 : toNumber(last, 'rollout_events.n') + 1;
    await tx.run('INSERT INTO rollout_events (rollout_id, n, at_ms, kind, stage_index, detail) VALUES (?, ?, ?, ?, ?, ?)',
      [e.rolloutId, n, e.atMs, e.kind, e.stageIndex, e.detail]);
  });
}

/**
 * Record a device's outcome. The stage is the one it was first recorded in (the stage that targeted it);
 * the same outcome and reason again changes nothing, not even its time.
 */
export async function putOutcome(db: SqlDb, o: RolloutOutcome): Promise<void> {
  await db.run(`INSERT INTO rollout_outcomes (rollout_id, device_id, stage_index, outcome, reason, at_ms) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (rollout_id, device_id) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason, at_ms = excluded.at_ms
    WHERE rollout_outcomes.outcome <> excluded.outcome OR COALESCE(rollout_outcomes.reason, '') <> COALESCE(excluded.reason, '')`,
  [o.rolloutId, o.deviceId, o.stageIndex, o.outcome, o.reason, o.atMs]);
}

function list(v: unknown, what: string): unknown[] {
  const parsed: unknown = JSON.parse(toText(v, what));
  return Array.isArray(parsed) ? parsed : [];
}

function readRollout(r: SqlRow): RolloutRecord {
  return {
    rolloutId: toText(r['rollout_id'], 'rollout_id'), releaseVersion: toNumber(r['release_version'], 'release_version'),
    hardware: list(r['hardware'], 'hardware').filter((x): x is string => typeof x === 'string'),
    group: toTextOrNull(r['group_name'], 'group_name'),
    canaries: list(r['canaries'], 'canaries').filter((x): x is string => typeof x === 'string'),
    stagesPercent: list(r['stages'], 'stages').filter((x): x is number => typeof x === 'number'),
    status: toText(r['status'], 'status'), reason: toTextOrNull(r['reason'], 'reason'),
    startedMs: toNumber(r['started_ms'], 'started_ms'), updatedMs: toNumber(r['updated_ms'], 'updated_ms'),
  };
}

const KINDS: readonly RolloutEvent['kind'][] = ['start', 'advance', 'pause', 'resume', 'halt', 'abort', 'complete'];
const OUTCOMES: readonly RolloutOutcome['outcome'][] = ['targeted', 'installing', 'trying', 'committed', 'failed'];

function oneOf<T extends string>(v: unknown, all: readonly T[], what: string): T {
  const found = all.find((x) => x === v);
  if (found === undefined) throw new Error(`registry: ${what} ${String(v)} is unknown`);
  return found;
}

/** Every rollout, oldest first. */
export async function rollouts(db: SqlDb): Promise<RolloutRecord[]> {
  return (await db.query('SELECT * FROM rollouts ORDER BY started_ms, rollout_id')).map(readRollout);
}

/** One rollout with its events and outcomes; undefined when unknown. */
export async function history(db: SqlDb, id: string): Promise<RolloutHistory | undefined> {
  const row = (await db.query('SELECT * FROM rollouts WHERE rollout_id = ?', [id]))[0];
  if (row === undefined) return undefined;
  const events = (await db.query('SELECT * FROM rollout_events WHERE rollout_id = ? ORDER BY n', [id])).map((e): RolloutEvent => ({
    rolloutId: id, atMs: toNumber(e['at_ms'], 'at_ms'), kind: oneOf(e['kind'], KINDS, 'event kind'),
    stageIndex: toNumber(e['stage_index'], 'stage_index'), detail: toText(e['detail'], 'detail'),
  }));
  const outcomes = (await db.query('SELECT * FROM rollout_outcomes WHERE rollout_id = ? ORDER BY device_id', [id])).map((o): RolloutOutcome => ({
    rolloutId: id, deviceId: toText(o['device_id'], 'device_id'), stageIndex: toNumber(o['stage_index'], 'stage_index'),
    outcome: oneOf(o['outcome'], OUTCOMES, 'outcome'), reason: toTextOrNull(o['reason'], 'reason'), atMs: toNumber(o['at_ms'], 'at_ms'),
  }));
  return { rollout: readRollout(row), events, outcomes };
}
