/**
 * The list of `ota-fleet` commands. Each command lives in this folder (one file per concern) and composes the functions its area exports; it is listed here, one line each.
 */
import type { Register } from '../../../agent/src/cli/index.js';
import { deltaFleetCommand } from './delta.js';
import { serveCommand } from './serve.js';
import { keysCommand } from './keys.js';
import { releaseCommand } from './release.js';
import { publishCommand } from './publish.js';
import { statusCommand } from './status.js';
import { imageCommand } from './image.js';

/** Every `ota-fleet` command, in the order `--help` lists them. */
export const fleetCommands: readonly Register[] = [
  serveCommand,
  keysCommand,
  releaseCommand,
  publishCommand,
  statusCommand,
  deltaFleetCommand,
  imageCommand,
];
