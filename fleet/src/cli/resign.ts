/**
 * `ota-fleet resign --keys KEYS --release DIR... [--release-expires 30d] [--json]`: sign again
 * what is past half its life (run it from a timer: docs/fleet.md has a systemd timer), so a
 * device that comes online late still finds an unexpired rollout.
 */
import { resolve } from 'node:path';
import { printJson, type Register } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { parseDurationMs } from '../keys/index.js';
import { resignRelease, type Resigned } from '../release/index.js';

function line(what: string, r: Resigned): string {
  return `${what} ${r.version}: ${r.resigned ? 're-signed, expires' : r.problem === undefined ? 'not due, expires' : 'DUE, not re-signed, expires'} ${r.expires}`;
}

/** Registers `resign`. */
export const resignCommand: Register = (y, ctx) =>
  y.command('resign', 're-sign the rollout (online key) and, when its keys are here, the release of each release directory once half their life is gone', (b) => b
    .option('keys', { type: 'string', demandOption: true, describe: 'key directory (the rollout key; the release key too to re-sign releases)' })
    .option('release', { type: 'string', array: true, demandOption: true, describe: 'release directory (repeatable)' })
    .option('release-expires', { type: 'string', default: '30d', describe: 'lifetime of a re-signed release (as release --expires)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
  async (a) => {
    const lifeMs = parseDurationMs(a['release-expires'], '--release-expires');
    const nowMs = ctx.now().getTime();
    const results: { dir: string; release: Resigned; rollout: Resigned }[] = [];
    for (const dir of a.release) {
      const r = await resignRelease(resolve(ctx.cwd, a.keys), resolve(ctx.cwd, dir), nowMs, lifeMs);
      results.push({ dir, ...r });
      if (!a.json) ctx.stdout.write(`${dir}: ${line('release', r.release)}; ${line('rollout', r.rollout)}\n`);
    }
    if (a.json) printJson(ctx, { now: new Date(nowMs).toISOString(), releases: results });
    const stuck = results.filter((r) => r.release.problem !== undefined);
    if (stuck.length > 0) throw new OtaError('RESIGN_KEY_OFFLINE', stuck.map((r) => r.release.problem).join('; '));
  });
