/**
 * The list of `ota-agent` commands. Each concern adds its command here, one line each.
 */
import type { Register } from './framework.js';
import { versionCommand } from './version.js';

/** Every `ota-agent` command, in the order `--help` lists them. */
export const agentCommands: readonly Register[] = [
  versionCommand,
];
