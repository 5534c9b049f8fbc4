/**
 * The agent config (`agent.json`): schema, validation, loading. docs/agent-config.md
 * documents every field.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { withContext } from '../errors/index.js';
import { parseAgentConfig } from './schema.js';
import type { AgentConfig } from './schema.js';

export { parseAgentConfig, validateAgentConfig } from './schema.js';
export type { AgentConfig, Bootloader, LogFormat, SlotConfig } from './schema.js';

/** Where a device keeps its agent config unless `--config` says otherwise. */
export const DEFAULT_AGENT_CONFIG_PATH = '/etc/ota-agent/agent.json';

/** Read and validate the agent config at `file` (relative to `cwd`). */
export async function loadAgentConfig(file: string, cwd: string): Promise<AgentConfig> {
  const source = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    throw withContext(`agent config ${source}: read`, err, 'CONFIG_MISSING');
  }
  return parseAgentConfig(text, source);
}

/**
 * The fw_env.config a `--config` option names: the file itself, or, when it is an
 * agent config (a JSON object), the `env` it names. Lets `env print/set` take either.
 */
export async function envConfigFrom(file: string, cwd: string): Promise<string> {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return path; // the env module reports a missing fw_env.config in its own words
  }
  if (!text.trimStart().startsWith('{')) return path;
  return (parseAgentConfig(text, path)).envConfigPath;
}
