/**
 * `ota-fleet rollout start|run|status|pause|resume|abort`: the staged-rollout
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
import { runController } from '../rollout/index.js';
import { PPM } from '../rollout/index.js';
import { createRollout } from '../rollout/index.js';
import { liveController, loadState, requestControl, type ControlAction, type ControllerState } from '../rollout/index.js';

const DEFAULT_STATE = 'ota-rollout.json';

/** `--stages 1,10,50,100` as numbers. */
export function parseStages(text: string): number[] {
  const parts = text.split(',').map((t) => t.trim());
  const stages = parts.map(Number);
  if (parts.some((t) => !/^[0-9]+(\.[0-9]+)?$/.test(t))) throw new OtaError('USAGE', `--stages ${text}: expected ascending percentages like 1,10,50,100`);
  return stages;
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

/** The `rollout status` text. */
export function describeState(s: ControllerState): string {
  const r = s.rollout;
  const stage = s.policy.stagesPercent[r.stageIndex] ?? 100;
  const t = s.tally;
  return [
    `rollout ${r.rolloutId}: release ${r.releaseVersion} (${s.hardware.join(', ')}): ${r.status}${r.reason === undefined ? '' : ` (${r.reason})`}`,
    `  stage ${r.stageIndex + 1}/${s.policy.stagesPercent.length}: ${stage} % of the fleet (${s.targetPpm} ppm on the wire), started ${new Date(r.stageStartedAtMs).toISOString()}`,
    `  devices in stage: ${t.inStage} (committed ${t.committed}, failed ${t.failed}, pending ${t.pending}); gates: success >= ${s.policy.successThresholdPercent} %, failure <= ${s.policy.failureThresholdPercent} %, soak ${s.policy.soakMs / 1000} s`,
    ...(t.failures ?? []).map((f) => `  failed: ${f.deviceId} ${f.reason}`),
    ...(t.failed > (t.failures?.length ?? 0) ? [`  failed: and ${t.failed - (t.failures?.length ?? 0)} more`] : []),
    `  published: ${s.published === null ? 'nothing yet' : `rollout document ${s.published.rolloutVersion} (${s.published.ppm} ppm = ${s.published.ppm / (PPM / 100)} %)`}`,
    '',
  ].join('\n');
}

async function runToEnd(ctx: CliContext, setExit: SetExit, file: string, a: { 'tick-ms': number; 'settle-ms': number }, once = false): Promise<void> {
  const s = await runController(file, {
    tickMs: a['tick-ms'], settleMs: a['settle-ms'], log: (l) => ctx.stdout.write(`${l}\n`), nowMs: () => ctx.now().getTime(), once,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  });
  ctx.stdout.write(describeState(s));
  if (s.rollout.status === 'halted' || s.rollout.status === 'aborted') setExit(EXIT_FAILURE);
}

async function control(ctx: CliContext, file: string, action: ControlAction, a: { 'tick-ms': number; 'settle-ms': number }): Promise<void> {
  await loadState(file);
  await requestControl(file, action);
  const pid = await liveController(file);
  if (pid !== undefined) {
    ctx.stdout.write(`asked the controller (pid ${pid}) to ${action}\n`);
    return;
  }
  // No controller runs: apply the request here, publish what it changes, and stop.
  await runToEnd(ctx, () => undefined, file, a, true);
}

/** Adds the controller's subcommands to `rollout`. */
export function rolloutControlCommands<T>(b: Argv<T>, ctx: CliContext, setExit: SetExit): Argv<T> {
  const file = (s: string): string => resolve(ctx.cwd, s);
  return b
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
      .option('force', { type: 'boolean', default: false, describe: 'start even when no device of the release\'s hardware reported (the first stage then waits for devices)' })
      .option('id', { type: 'string', describe: 'rollout id (default r<version>-<random>)' })
      .option('rollout-expires', { type: 'string', default: '7d', describe: 'lifetime of each signed rollout document (re-signed at half)' })
      .option('spread', { type: 'string', default: '0', describe: 'window over which a stage\'s devices start downloading' })
      .option('serve-dir', { type: 'string', describe: 'directory the artifact server serves (ota-fleet serve --artifacts): each signed stage is also written there as rollout/<hardware>.json, which devices fetch after every reconnect' })
      .option('detach', { type: 'boolean', default: false, describe: 'publish the first stage and exit; continue with rollout run' }),
    async (a) => {
      const stateFile = file(a.state);
      const s = await createRollout({
        stateFile, releaseDir: file(a.release ?? ''), keysDir: file(a.keys), broker: a.broker, protocolVersion: protocolArg(a['protocol-version']),
        policy: {
          stagesPercent: parseStages(a.stages), successThresholdPercent: a['success-threshold'], failureThresholdPercent: a['failure-threshold'],
          minDevices: a['min-devices'], soakMs: durationOrZeroMs(a.soak, '--soak'),
        },
        ...(a.id === undefined ? {} : { rolloutId: a.id }),
        ...(a['serve-dir'] === undefined ? {} : { servedDir: file(a['serve-dir']) }),
        artifactsUrl: a['artifacts-url'], force: a.force, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
        rolloutLifetimeMs: parseDurationMs(a['rollout-expires'], '--rollout-expires'), spreadSeconds: durationOrZeroMs(a.spread, '--spread') / 1000,
        settleMs: a['settle-ms'], nowMs: ctx.now().getTime(),
      });
      ctx.stdout.write(`rollout ${s.rollout.rolloutId} of release ${s.rollout.releaseVersion}: state in ${stateFile}\n`);
      await runToEnd(ctx, setExit, stateFile, a, a.detach);
    })
    .command('run', 'run (or resume after a restart) the controller of the rollout in --state', (c) => runOptions(stateOption(c)),
      async (a) => runToEnd(ctx, setExit, file(a.state), a))
    .command('status', 'print the rollout\'s stage, gates and counts from --state', (c) => stateOption(c)
      .option('json', { type: 'boolean', default: false, describe: 'print the state file\'s JSON' }),
    async (a) => {
      const s = await loadState(file(a.state));
      ctx.stdout.write(a.json ? `${JSON.stringify({ rollout: s.rollout, policy: s.policy, targetPpm: s.targetPpm, published: s.published, tally: s.tally })}\n` : describeState(s));
    })
    .command('pause', 'stop widening: the current stage continues, no new stage starts', (c) => runOptions(stateOption(c)),
      async (a) => control(ctx, file(a.state), 'pause', a))
    .command('resume', 'resume a paused rollout', (c) => runOptions(stateOption(c)),
      async (a) => control(ctx, file(a.state), 'resume', a))
    .command('abort', 'stop the rollout for good and publish a halt (a signed document that targets nobody)', (c) => runOptions(stateOption(c)),
      async (a) => control(ctx, file(a.state), 'abort', a));
}
