/**
 * Child process of the power-loss harness: installs the storage interposer (fault-fs.ts) from
 * the plan in OTA_FAULT_PLAN, then runs `ota-agent ARGV` in-process from the build tree in
 * OTA_AGENT_BUILD (the repository's build/, or a mutated copy of it) with the real wiring.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Cli from '../../agent/src/cli/index.js';
import { installInterposer, type FaultPlan } from './fault-fs.js';

function plan(): FaultPlan {
  const text = process.env['OTA_FAULT_PLAN'];
  if (text === undefined) throw new Error('fault-child: OTA_FAULT_PLAN is not set');
  const parsed: FaultPlan = JSON.parse(text);
  return parsed;
}

const build = process.env['OTA_AGENT_BUILD'];
if (build === undefined) throw new Error('fault-child: OTA_AGENT_BUILD is not set');
await installInterposer(plan());
const cli: typeof Cli = await import(pathToFileURL(join(build, 'agent/src/cli/index.js')).href);
process.exitCode = await cli.main(process.argv.slice(2), cli.processContext(cli.signalOnTermination()));
