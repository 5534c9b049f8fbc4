/**
 * The list of `ota-agent` commands. Each command lives in this folder (one file per concern) and composes the functions its area exports; it is listed here, one line each.
 */
import type { Register } from './framework.js';
import { versionCommand } from './version.js';
import { deltaAgentCommand } from './delta.js';
import { verifyCommand } from './verify.js';
import { envCommand } from './env.js';
import { downloadCommand } from './download.js';
import { deviceCommands } from './device.js';
import { simCommand } from './sim.js';
import { provisionCommand } from './provision.js';
import { channelCommand } from './channel.js';

/** Every `ota-agent` command, in the order `--help` lists them. */
export const agentCommands: readonly Register[] = [
  versionCommand('ota-agent'),
  verifyCommand,
  envCommand,
  deltaAgentCommand,
  downloadCommand,
  deviceCommands,
  channelCommand,
  provisionCommand,
  simCommand,
];
