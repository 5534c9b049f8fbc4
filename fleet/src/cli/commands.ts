/**
 * The list of `ota-fleet` commands. Each concern adds its command here, one line each.
 */
import type { Register } from '../../../agent/src/cli/index.js';
import { serveCommand } from '../serve/index.js';

/** Every `ota-fleet` command, in the order `--help` lists them. */
export const fleetCommands: readonly Register[] = [
  serveCommand,
];
