/**
 * `ota-agent`: the device program. `main(argv, ctx)` runs one command in-process
 * and resolves to its exit code; the bin file is three lines around it.
 */
import { agentCommands } from './commands.js';
import { runCli, type CliContext } from './framework.js';

export { runCli, processContext, signalOnTermination, printJson, humanOutput, EXIT_FAILURE, EXIT_NOT_PROVISIONED, EXIT_USAGE, USAGE } from './framework.js';
export { programVersion, versionCommand } from './version.js';
export type { CliContext, Register, SetExit } from './framework.js';
export { parseTimeArg, parseUintArg, readCapped } from './args.js';

/** Run `ota-agent` with `argv` (without the node and script paths). */
export function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  return runCli('ota-agent', argv, ctx, agentCommands);
}
