/**
 * `ota-fleet`: the vendor and operator program. Same frame as `ota-agent`.
 */
import { runCli, type CliContext } from '../../../agent/src/cli/index.js';
import { fleetCommands } from './commands.js';

/** Run `ota-fleet` with `argv` (without the node and script paths). */
export function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  return runCli('ota-fleet', argv, ctx, fleetCommands);
}
