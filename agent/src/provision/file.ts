/**
 * The provisioning file: agent.json's fields (the board part a vendor ships)
 * plus `files`, naming the root, certificate, key and CA to install, relative
 * to the provisioning file.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { OtaError, describe } from '../errors/index.js';
import { METADATA_LIMITS } from '../formats/index.js';
import { readBounded } from '../files/index.js';
import { PROVISION_FILE_KEY, isRecord } from './provision.js';

/** The files a provisioning installs, by the flag (and `files` member) naming each. */
export const FILE_FLAGS = ['root', 'cert', 'key', 'ca'] as const;

/** One of FILE_FLAGS. */
export type FileFlag = typeof FILE_FLAGS[number];

/** The provisioning file: agent.json's fields, plus `files` naming the files to install (relative to it). */
export async function readProvisioningFile(file: string): Promise<{ base: Record<string, unknown>; files: Partial<Record<FileFlag, string>> }> {
  const text = Buffer.from(await readBounded(file, METADATA_LIMITS.maxBytes, 'provisioning file')).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OtaError('PROVISION_INVALID', `provision: ${file} is not valid JSON (${describe(err)}): fix the provisioning file`);
  }
  if (!isRecord(json)) throw new OtaError('PROVISION_INVALID', `provision: ${file} must hold a JSON object (agent.json's fields and "${PROVISION_FILE_KEY}")`);
  const { [PROVISION_FILE_KEY]: listed, ...base } = json;
  const files: Partial<Record<FileFlag, string>> = {};
  if (listed !== undefined) {
    if (!isRecord(listed)) throw new OtaError('PROVISION_INVALID', `provision: ${file}: "${PROVISION_FILE_KEY}" must be an object with root, cert, key, ca`);
    for (const [k, v] of Object.entries(listed)) {
      const flag = FILE_FLAGS.find((f) => f === k);
      if (flag === undefined || typeof v !== 'string') throw new OtaError('PROVISION_INVALID', `provision: ${file}: ${PROVISION_FILE_KEY}.${k} is not one of ${FILE_FLAGS.join(', ')} naming a file path`);
      files[flag] = resolve(dirname(file), v);
    }
  }
  // The other paths are as in agent.json, relative to the data directory it is written to: that one must be absolute.
  if (base['dataDir'] !== undefined && (typeof base['dataDir'] !== 'string' || !isAbsolute(base['dataDir']))) {
    throw new OtaError('PROVISION_INVALID', `provision: ${file}: dataDir must be an absolute path (or leave it out and pass --data-dir)`);
  }
  return { base, files };
}
