/**
 * `ota-agent version`: the agent's version and the Node.js it runs on.
 */
import type { Register } from './framework.js';

/** The agent's version; the device bundle and package.json carry the same. */
export const AGENT_VERSION = '0.1.0';

/** Registers `version`. */
export const versionCommand: Register = (y, ctx) =>
  y.command('version', 'print the agent version', {}, () => {
    ctx.stdout.write(`ota-agent ${AGENT_VERSION} (node ${process.versions.node})\n`);
  });
