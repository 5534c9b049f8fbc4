/**
 * `ota-fleet rollout start|run|status|list|show|pause|resume|abort`: the staged-rollout
 * controller's commands (the bare `ota-fleet rollout --release DIR` that signs one
 * rollout by hand stays in release/cli.ts, which adds these as its subcommands).
 */
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliContext, SetExit } from '../../../agent/src/cli/index.js';
import { EXIT_FAILURE } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { parseDurationMs } from '../keys/index.js';
import { protocolArg } from './status.js';
import { isFinal, runController } from '../rollout/index.js';
import { lifeWarning } from '../status/index.js';
import { formatUtcTime } from '../../../agent/src/formats/index.js';
import { PPM, stageCount, stageLabel } from '../rollout/index.js';
import { createRollout } from '../rollout/index.js';
import { liveController, loadState, requestControl, type ControlAction, type ControllerState } from '../rollout/index.js';
import { controlRefusal, findRollout, listRollouts, releaseFacts, startedMs } from '../rollout/index.js';
import { checkArtifacts } from '../publish/index.js';
import { REGISTRY_FILE, isPostgresUrl } from '../registry/index.js';
import { rolloutHistoryCommand } from './history.js';

const DEFAULT_STATE = 'ota-rollout.json';

/** `--stages 1,10,50,100` as numbers. */
export function parseStages(text: string): number[] {
  const parts = text.split(',').map((t) => t.trim());
  const stages = parts.map(Number);
  if (parts.some((t) => !/^[0-9]+(\.[0-9]+)?$/.test(t))) throw new OtaError('USAGE', `--stages ${text}: expected ascending percentages like 1,10,50,100`);
  return stages;
}

/** `--canary a,b` as the policy's canaries (none when absent). */
function canaryOption(text: string | undefined): { canaries?: string[] } {
  if (text === undefined) return {};
  const ids = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (ids.length === 0 || ids.some((id) => !/^[A-Za-z0-9._:-]{1,128}$/.test(id))) throw new OtaError('USAGE', `--canary ${text}: expected device ids separated by commas`);
  return { canaries: ids };
}

/** A duration that may be 0 (`--soak 0`). */
function durationOrZeroMs(text: string, flag: string): number {
  return text === '0' ? 0 : parseDurationMs(text, flag);
}

function stateOption<T>(b: Argv<T>) {
  return b.option('state', { type: 'string', default: DEFAULT_STATE, describe: 'the controller\'s state file' });
}

function runOptions<T>(b: Argv<T>) {
  return b.option('tick-ms', { type: 'number', default: 1000, describe: 'time between controller steps' })
    .option('settle-ms', { type: 'number', default: 1000, describe: 'quiet time that ends the retained status documents at start' });
}

/** The published document's expiry, and a warning line when under a quarter of its life is left (status/expiry.ts). */
function expiryLines(s: ControllerState, nowMs: number): { expires: string; warnings: string[] } {
  const p = s.published;
  if (p === null || p.expiresAtMs === undefined) return { expires: '', warnings: [] };
  const remedy = isFinal(s) ? 'ota-fleet rollout run re-signs it (and exits: the rollout is over); run it from a timer as ota-fleet resign'
    : 'the running controller re-signs it at half its life: is it running? (ota-fleet rollout run)';
  const w = lifeWarning(`rollout document ${p.rolloutVersion}`, p.signedAtMs, p.expiresAtMs, nowMs, remedy);
  return { expires: `, expires ${formatUtcTime(p.expiresAtMs)}`, warnings: w === undefined ? [] : [`  warning: ${w}`] };
}

/** The `rollout status` text at `nowMs`. */
export function describeState(s: ControllerState, nowMs: number): string {
  const r = s.rollout;
  const stage = stageLabel(s.policy, r.stageIndex);
  const t = s.tally;
  const expiry = expiryLines(s, nowMs);
  return [
    `rollout ${r.rolloutId}: release ${r.releaseVersion} (${s.hardware.join(', ')}): ${r.status}${r.reason === undefined ? '' : ` (${r.reason})`}`,
    ...(s.group === undefined ? [] : [`  targets group ${s.group}: ${s.members?.length ?? 0} devices when it started`]),
    `  stage ${r.stageIndex + 1}/${stageCount(s.policy)}: ${stage}${s.group === undefined ? ' of the fleet' : ' of the group'} (${s.targetPpm} ppm on the wire), started ${new Date(r.stageStartedAtMs).toISOString()}`,
    `  devices in stage: ${t.inStage} (committed ${t.committed}, failed ${t.failed}, pending ${t.pending}); gates: success >= ${s.policy.successThresholdPercent} %, failure <= ${s.policy.failureThresholdPercent} %, soak ${s.policy.soakMs / 1000} s`,
    ...(s.earlierHalts ?? []).map((h) => `  halted before, then resumed: ${h}`),
    ...(t.failures ?? []).map((f) => `  failed: ${f.deviceId} ${f.reason}`),
    ...(t.failed > (t.failures?.length ?? 0) ? [`  failed: and ${t.failed - (t.failures?.length ?? 0)} more`] : []),
    `  published: ${s.published === null ? 'nothing yet' : `rollout document ${s.published.rolloutVersion} (${s.published.ppm} ppm = ${s.published.ppm / (PPM / 100)} %)${expiry.expires}`}`,
    ...expiry.warnings,
    '',
  ].join('\n');
}

async function runToEnd(ctx: CliContext, setExit: SetExit, file: string, a: { 'tick-ms': number; 'settle-ms': number; force?: boolean }, once = false): Promise<void> {
  const s = await runController(file, {
    tickMs: a['tick-ms'], settleMs: a['settle-ms'], log: (l) => ctx.stdout.write(`${l}\n`), nowMs: () => ctx.now().getTime(), once, force: a.force === true,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  });
  ctx.stdout.write(describeState(s, ctx.now().getTime()));
  if (s.rollout.status === 'halted' || s.rollout.status === 'aborted') setExit(EXIT_FAILURE);
}

/**
 * pause/resume/abort: refused (typed, exit 1) when the rollout's status makes the request a no-op; a resume
 * re-checks the artifacts first. With a live controller the request is left for its next step; without one
 * it is applied here, what it changes is published, and the command stops (continue with rollout run).
 */
async function control(ctx: CliContext, file: string, action: ControlAction, a: { 'tick-ms': number; 'settle-ms': number }): Promise<void> {
  const s = await loadState(file);
  const refused = controlRefusal(s, action);
  if (refused !== undefined) throw refused;
  if (action === 'resume' && s.artifactsUrl !== undefined) await checkArtifacts(await releaseFacts(s.releaseDir), s.artifactsUrl, ctx.signal);
  await requestControl(file, action);
  const pid = await liveController(file);
  if (pid !== undefined) {
    ctx.stdout.write(`asked the controller (pid ${pid}) to ${action} rollout ${s.rollout.rolloutId}\n`);
    return;
  }
  // No controller runs: apply the request here, publish what it changes, and stop.
  await runToEnd(ctx, () => undefined, file, a, true);
  if (action === 'resume') ctx.stdout.write(`rollout ${s.rollout.rolloutId} resumed: continue it with ota-fleet rollout run\n`);
}

/** One line per rollout of `rollout list`. */
export function describeListed(s: ControllerState): string {
  const r = s.rollout;
  return `${r.rolloutId}  release ${r.releaseVersion}  ${r.status}  stage ${r.stageIndex + 1}/${stageCount(s.policy)}  started ${new Date(startedMs(s)).toISOString()}${r.reason === undefined ? '' : `  (${r.reason})`}`;
}

/** The JSON of a rollout record (`rollout status|show --json`; one entry of `rollout list --json`). */
function recordJson(s: ControllerState): Record<string, unknown> {
  return {
    rollout: s.rollout, release: s.releaseDir, hardware: s.hardware, startedAtMs: startedMs(s), policy: s.policy, targetPpm: s.targetPpm, published: s.published, tally: s.tally,
    earlierHalts: s.earlierHalts ?? [],
  };
}

/** Adds the controller's subcommands to `rollout`. */
export function rolloutControlCommands<T>(b: Argv<T>, ctx: CliContext, setExit: SetExit): Argv<T> {
  const file = (s: string): string => resolve(ctx.cwd, s);
  return rolloutHistoryCommand(b, ctx)
    .command('start <release>', 'start a staged rollout of a release and run its controller (until completed or halted unless --detach)', (c) => runOptions(stateOption(c))
      .positional('release', { type: 'string', demandOption: true, describe: 'release directory (ota-fleet release --out)' })
      .option('stages', { type: 'string', default: '1,10,50,100', describe: 'cumulative percentages of the fleet' })
      .option('success-threshold', { type: 'number', default: 95, describe: '% of a stage that must commit before the next stage' })
      .option('failure-threshold', { type: 'number', default: 5, describe: '% of a stage that may fail; more halts the rollout' })
      .option('min-devices', { type: 'number', default: 1, describe: 'widen a stage to at least this many devices' })
      .option('soak', { type: 'string', default: '0', describe: 'time a stage runs before the next one (e.g. 10m)' })
      .option('broker', { type: 'string', demandOption: true, describe: 'MQTT broker URL' })
      .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level: 4 (3.1.1, any broker) or 5' })
      .option('keys', { type: 'string', demandOption: true, describe: 'key directory (rollout keys sign each stage)' })
      .option('artifacts-url', { type: 'string', demandOption: true, describe: 'base URL devices fetch artifacts from: each artifact is checked there (as publish does) before any stage' })
      .option('force', { type: 'boolean', default: false, describe: 'start even when no device of the release\'s hardware reported (the first stage then waits for devices), or when devices of the roster (ota-devices.json beside --state) gave no status (planned on the devices seen)' })
      .option('id', { type: 'string', describe: 'rollout id (default r<version>-<random>)' })
      .option('rollout-expires', { type: 'string', default: '7d', describe: 'lifetime of each signed rollout document (re-signed at half)' })
      .option('spread', { type: 'string', default: '0', describe: 'window over which a stage\'s devices start downloading' })
      .option('serve-dir', { type: 'string', describe: 'directory the artifact server serves (ota-fleet serve --artifacts): each signed stage is also written there as rollout/<hardware>.json, which devices fetch after every reconnect' })
      .option('detach', { type: 'boolean', default: false, describe: 'publish the first stage and exit; continue with rollout run' })
      .option('group', { type: 'string', describe: 'target only this group\'s devices (ota-fleet group add): its members when the rollout starts, named in each signed stage' })
      .option('canary', { type: 'string', describe: 'devices (ID,ID...) that form the first stage alone, before the sampled stages' })
      .option('database', { type: 'string', describe: `the registry: a postgres:// URL or a SQLite file (default ${REGISTRY_FILE} beside --state)` }),
    async (a) => {
      const stateFile = file(a.state);
      const s = await createRollout({
        stateFile, releaseDir: file(a.release ?? ''), keysDir: file(a.keys), broker: a.broker, protocolVersion: protocolArg(a['protocol-version']),
        policy: {
          stagesPercent: parseStages(a.stages), successThresholdPercent: a['success-threshold'], failureThresholdPercent: a['failure-threshold'],
          minDevices: a['min-devices'], soakMs: durationOrZeroMs(a.soak, '--soak'), ...canaryOption(a.canary),
        },
        ...(a.group === undefined ? {} : { group: a.group }),
        ...(a.database === undefined ? {} : { database: isPostgresUrl(a.database) ? a.database : file(a.database) }),
        ...(a.id === undefined ? {} : { rolloutId: a.id }),
        ...(a['serve-dir'] === undefined ? {} : { servedDir: file(a['serve-dir']) }),
        artifactsUrl: a['artifacts-url'], force: a.force, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
        rolloutLifetimeMs: parseDurationMs(a['rollout-expires'], '--rollout-expires'), spreadSeconds: durationOrZeroMs(a.spread, '--spread') / 1000,
        settleMs: a['settle-ms'], nowMs: ctx.now().getTime(),
      });
      ctx.stdout.write(`rollout ${s.rollout.rolloutId} of release ${s.rollout.releaseVersion}: state in ${stateFile}\n`);
      await runToEnd(ctx, setExit, stateFile, a, a.detach);
    })
    .command('run', 'run (or resume after a restart) the controller of the rollout in --state', (c) => runOptions(stateOption(c))
      .option('force', { type: 'boolean', default: false, describe: 'plan even while devices of the roster gave no status document (otherwise the controller holds until they do)' }),
      async (a) => runToEnd(ctx, setExit, file(a.state), a))
    .command('status', 'print the rollout\'s stage, gates and counts from --state', (c) => stateOption(c)
      .option('json', { type: 'boolean', default: false, describe: 'print the state file\'s JSON' }),
    async (a) => {
      const s = await loadState(file(a.state));
      ctx.stdout.write(a.json ? `${JSON.stringify(recordJson(s))}\n` : describeState(s, ctx.now().getTime()));
    })
    .command('list', 'list the rollouts recorded next to --state (the history and the current one), oldest first', (c) => stateOption(c)
      .option('json', { type: 'boolean', default: false, describe: 'print {"rollouts":[...]} (each as rollout status --json)' }),
    async (a) => {
      const all = await listRollouts(file(a.state));
      if (a.json) ctx.stdout.write(`${JSON.stringify({ rollouts: all.map(recordJson) })}\n`);
      else ctx.stdout.write(all.length === 0 ? 'no rollout recorded\n' : `${all.map(describeListed).join('\n')}\n`);
    })
    .command('show <id>', 'print one recorded rollout (as rollout status does for the current one)', (c) => stateOption(c)
      .positional('id', { type: 'string', demandOption: true, describe: 'rollout id (ota-fleet rollout list)' })
      .option('json', { type: 'boolean', default: false, describe: 'print it as rollout status --json does' }),
    async (a) => {
      const s = await findRollout(file(a.state), a.id ?? '');
      ctx.stdout.write(a.json ? `${JSON.stringify(recordJson(s))}\n` : describeState(s, ctx.now().getTime()));
    })
    .command('pause', 'stop widening a running rollout: the current stage continues, no new stage starts', (c) => runOptions(stateOption(c)),
      async (a) => control(ctx, file(a.state), 'pause', a))
    .command('resume', 'resume a paused rollout, or a halted one after a fix (its artifacts re-checked, the halted stage published again, its failed devices given another try)', (c) => runOptions(stateOption(c)),
      async (a) => control(ctx, file(a.state), 'resume', a))
    .command('abort', 'stop a running, paused or halted rollout for good: it targets nobody (devices already updated stay)', (c) => runOptions(stateOption(c)),
      async (a) => control(ctx, file(a.state), 'abort', a));
}
