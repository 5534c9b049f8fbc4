/**
 * The list of `ota-fleet` commands. Each concern adds its command here, one line each.
 */
import type { Register } from '../../../agent/src/cli/index.js';
import { deltaFleetCommand } from '../delta/cli.js';
import { serveCommand } from '../serve/index.js';
import { keysCommand } from '../keys/index.js';
import { releaseCommand } from '../release/index.js';
import { publishCommand } from '../publish/index.js';
import { statusCommand } from '../status/index.js';

/** Every `ota-fleet` command, in the order `--help` lists them. */
export const fleetCommands: readonly Register[] = [
  serveCommand,
  keysCommand,
  releaseCommand,
  publishCommand,
  statusCommand,
  deltaFleetCommand,
];
