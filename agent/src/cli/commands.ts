/**
 * The list of `ota-agent` commands. Each concern adds its command here, one line each.
 */
import type { Register } from './framework.js';
import { versionCommand } from './version.js';
import { deltaAgentCommand } from '../delta/cli.js';
import { verifyCommand } from '../trust/index.js';
import { envCommand } from '../bootenv/cli.js';
import { downloadCommand } from '../download/index.js';
import { deviceCommands } from '../agent/index.js';
import { simCommand } from '../sim/index.js';
import { provisionCommand } from './provision.js';

/** Every `ota-agent` command, in the order `--help` lists them. */
export const agentCommands: readonly Register[] = [
  versionCommand,
  verifyCommand,
  envCommand,
  deltaAgentCommand,
  downloadCommand,
  deviceCommands,
  provisionCommand,
  simCommand,
];
