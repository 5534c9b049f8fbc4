/**
 * The agent config (`agent.json`): schema, validation, loading. docs/agent-config.md
 * documents every field.
 */
import { resolve } from 'node:path';
import { OtaError, errnoCode, withContext } from '../errors/index.js';
import { readBounded } from '../files/index.js';
import { AGENT_CONFIG_MAX_BYTES, parseAgentConfig } from './schema.js';
import type { AgentConfig } from './schema.js';

export { parseAgentConfig, validateAgentConfig } from './schema.js';
export type { AgentConfig, Bootloader, LogFormat, SlotConfig } from './schema.js';

/** Where a device keeps its agent config unless `--config` says otherwise. */
export const DEFAULT_AGENT_CONFIG_PATH = '/etc/ota-agent/agent.json';

/** Read and validate the agent config at `file` (relative to `cwd`). */
export async function loadAgentConfig(file: string, cwd: string): Promise<AgentConfig> {
  const source = resolve(cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readBounded(source, AGENT_CONFIG_MAX_BYTES, 'agent config');
  } catch (err) {
    if (err instanceof OtaError && err.code === 'FILE_TOO_LARGE') throw err;
    // no file at all: a device not provisioned yet (exit 78, on which the shipped unit does not restart)
    if (errnoCode(err) === 'ENOENT') throw new OtaError('CONFIG_MISSING', `agent config ${source}: not found (ENOENT): provision the device (ota-agent provision)`, { cause: err });
    throw withContext(`agent config ${source}: read`, err, 'CONFIG_MISSING');
  }
  return parseAgentConfig(bytes, source);
}

/**
 * The fw_env.config a `--config` option names: the file itself, or, when it is an
 * agent config (a JSON object), the `env` it names. Lets `env print/set` take either.
 */
export async function envConfigFrom(file: string, cwd: string): Promise<string> {
  const path = resolve(cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readBounded(path, AGENT_CONFIG_MAX_BYTES, 'config');
  } catch {
    return path; // the env module reports a missing fw_env.config in its own words
  }
  if (!bytes.toString('utf8').trimStart().startsWith('{')) return path;
  return (parseAgentConfig(bytes, path)).envConfigPath;
}
