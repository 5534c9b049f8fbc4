/**
 * The demo's entry (`npm run demo`, through scripts/demo.mjs, which installs and
 * builds first): parse the flags, run the demo, print the summary, and stop
 * every process and remove every file it made, on success, failure or Ctrl-C.
 *
 *   node build/fleet/src/demo/main.js [--devices 8] [--halt] [--broker mqtt://HOST:PORT] [--keep] [--summary-json FILE]
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { describe } from '../../../agent/src/errors/index.js';
import { Cleanup, runDemo } from './run.js';
import { summaryText, type DemoSummary } from './summary.js';

/** Why a run did not show what the demo is meant to show (empty: it did). */
export function storyProblems(s: DemoSummary, halt: boolean): string[] {
  const problems: string[] = [];
  const revertedIds = s.reverted.map((r) => r.deviceId);
  if (!revertedIds.includes(s.failingDevice)) problems.push(`${s.failingDevice} was set up to fail but did not revert`);
  if (halt && s.rolloutStatus !== 'halted') problems.push(`the rollout was meant to halt but is ${s.rolloutStatus}`);
  if (!halt && s.rolloutStatus !== 'completed') problems.push(`the rollout was meant to complete but is ${s.rolloutStatus}`);
  if (!halt && s.updated.length !== s.devices - 1) problems.push(`${s.updated.length} of ${s.devices - 1} healthy devices updated`);
  return problems;
}

function closing(s: DemoSummary, halt: boolean): string {
  if (halt) {
    return `The controller halted the rollout (${s.reason ?? 'failures'}) and published a signed halt (a rollout document that targets nobody):`
      + ` the devices outside the stages it reached never installed v${s.releaseVersion}.\n`;
  }
  return `The failing device reverted on its own (trial boot, failed required check, env flipped back): 1 of ${s.devices} is within the`
    + ` ${s.failureThresholdPercent} % failure budget, so the rollout went on. Run \`npm run demo -- --halt\` to see a failure in the first stage halt it.\n`;
}

/** Run the demo as a program; resolves to the exit code. */
export async function demoMain(argv: readonly string[]): Promise<number> {
  const args = await yargs([...argv]).scriptName('npm run demo --').strict().version(false)
    .option('devices', { type: 'number', default: 8, describe: 'simulated devices, each an ota-agent process (2-32)' })
    .option('halt', { type: 'boolean', default: false, describe: 'put the failing device in the first stage: the rollout halts' })
    .option('broker', { type: 'string', describe: 'an external MQTT 5 broker (e.g. mosquitto) instead of the embedded one: mqtt://HOST:PORT' })
    .option('keep', { type: 'boolean', default: false, describe: 'keep the temp directory (device dirs, agent logs, release)' })
    .option('summary-json', { type: 'string', describe: 'also write the summary as JSON to this file' })
    .check((a) => (Number.isInteger(a.devices) && a.devices >= 2 && a.devices <= 32) || '--devices: a whole number from 2 to 32')
    .check((a) => a.broker === undefined || /^mqtts?:\/\/[^/\s]+\/?$/.test(a.broker) || '--broker: an MQTT URL, mqtt://HOST:PORT')
    .parseAsync();
  const controller = new AbortController();
  const cleanup = new Cleanup();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\ndemo: interrupted, stopping the agents and removing the temp directory...\n');
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runDemo({
      devices: args.devices, halt: args.halt, keep: args.keep, ...(args.broker === undefined ? {} : { brokerUrl: args.broker }), out: process.stdout, signal: controller.signal,
    }, cleanup);
    process.stdout.write(summaryText(summary));
    if (args['summary-json'] !== undefined) writeFileSync(args['summary-json'], `${JSON.stringify(summary, null, 2)}\n`);
    const problems = storyProblems(summary, args.halt);
    if (problems.length > 0) {
      process.stderr.write(`demo: the run did not go as the demo expects: ${problems.join('; ')}\n`);
      return 1;
    }
    process.stdout.write(closing(summary, args.halt));
    return 0;
  } catch (err) {
    if (controller.signal.aborted) return 130;
    process.stderr.write(`demo: failed: ${describe(err)}\n`);
    return 1;
  } finally {
    await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// Run when executed as a program (not when imported by a test).
// Exit right away: a client or timer left behind by a failure must not keep the demo hanging.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await demoMain(process.argv.slice(2)));
}
