/**
 * The list of `ota-fleet` commands. Each command lives in this folder (one file per concern) and composes the functions its area exports; it is listed here, one line each.
 */
import { versionCommand, type Register } from '../../../agent/src/cli/index.js';
import { deltaFleetCommand } from './delta.js';
import { serveCommand } from './serve.js';
import { keysCommand } from './keys.js';
import { releaseCommand } from './release.js';
import { publishCommand } from './publish.js';
import { rosterCommand, statusCommand } from './status.js';
import { imageCommand } from './image.js';
import { resignCommand } from './resign.js';
import { channelCommand } from './channel.js';
import { deviceCommand } from './device.js';
import { groupCommand } from './group.js';

/** Every `ota-fleet` command, in the order `--help` lists them. */
export const fleetCommands: readonly Register[] = [
  versionCommand('ota-fleet'),
  serveCommand,
  keysCommand,
  releaseCommand,
  publishCommand,
  resignCommand,
  channelCommand,
  statusCommand,
  rosterCommand,
  deviceCommand,
  groupCommand,
  deltaFleetCommand,
  imageCommand,
];
