/**
 * `ota-fleet rollout history [ID]`: the deployment history the registry keeps: every rollout (oldest
 * first), or one with its stages, decisions (advance, pause, resume, halt and why, abort, completion)
 * and each targeted device's outcome.
 */
import type { Argv } from 'yargs';
import type { CliContext } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import type { RolloutHistory, RolloutRecord } from '../registry/index.js';
import { columns, when, withRegistry } from './registry.js';
import { REGISTRY_FILE } from '../registry/index.js';

function line(r: RolloutRecord): string {
  const target = r.group === null ? 'all' : `group ${r.group}`;
  return `${r.rolloutId}  release ${r.releaseVersion}  ${target}  ${r.status}  started ${when(r.startedMs)}${r.reason === null ? '' : `  (${r.reason})`}`;
}

function historyText(h: RolloutHistory): string {
  const r = h.rollout;
  const counts = new Map<string, number>();
  for (const o of h.outcomes) counts.set(o.outcome, (counts.get(o.outcome) ?? 0) + 1);
  return [
    `rollout ${r.rolloutId}: release ${r.releaseVersion} (${r.hardware.join(', ')}): ${r.status}${r.reason === null ? '' : ` (${r.reason})`}`,
    `  target ${r.group === null ? 'every device of the hardware' : `group ${r.group}`}; stages ${[...(r.canaries.length > 0 ? [`canaries (${r.canaries.join(', ')})`] : []), ...r.stagesPercent.map((p) => `${p} %`)].join(', ')}`,
    '  decisions:',
    ...h.events.map((e) => `    ${when(e.atMs)}  ${e.kind.padEnd(8)}  stage ${e.stageIndex + 1}  ${e.detail}`),
    `  devices: ${h.outcomes.length} targeted (${[...counts].sort().map(([k, n]) => `${n} ${k}`).join(', ') || 'none yet'})`,
    columns(['    DEVICE', 'STAGE', 'OUTCOME', 'AT', 'REASON'], h.outcomes.map((o) => [`    ${o.deviceId}`, String(o.stageIndex + 1), o.outcome, when(o.atMs), o.reason ?? '-'])).trimEnd(),
    '',
  ].join('\n');
}

/** Adds `history [id]` to `rollout`; the registry is beside --state (or --database). */
export function rolloutHistoryCommand<T>(b: Argv<T>, ctx: CliContext): Argv<T> {
  return b.command('history [id]', 'the deployment history: every rollout, or one with its decisions and per-device outcomes', (c) => c
    .positional('id', { type: 'string', describe: 'rollout id (all rollouts when absent)' })
    .option('state-dir', { type: 'string', default: '.', describe: `the fleet's state directory (the registry ${REGISTRY_FILE})` })
    .option('database', { type: 'string', describe: 'the registry: a postgres:// URL or a SQLite file' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON: {"rollouts":[...]} or the one rollout {rollout, events, outcomes}' }),
  async (a) => withRegistry(ctx, a, async (reg) => {
    if (a.id === undefined) {
      const all = await reg.rollouts();
      ctx.stdout.write(a.json ? `${JSON.stringify({ rollouts: all })}\n` : all.length === 0 ? 'no rollout recorded\n' : `${all.map(line).join('\n')}\n`);
      return;
    }
    const h = await reg.rolloutHistory(a.id);
    if (h === undefined) throw new OtaError('ROLLOUT_UNKNOWN', `rollout ${a.id}: not in the registry ${reg.describe} (ota-fleet rollout history lists them)`);
    ctx.stdout.write(a.json ? `${JSON.stringify(h)}\n` : historyText(h));
  }));
}
