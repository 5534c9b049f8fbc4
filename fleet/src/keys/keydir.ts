/**
 * The fleet's key directory (KEYS):
 *   root.json              the current signed root (what devices are provisioned with)
 *   roots/N.root.json      every root version, for the rotation chain in notices
 *   private/KEYID.json     private keys (0600, in a 0700 directory)
 * A production setup keeps root keys offline; this layout suits one build host.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import {
  canonicalBytes, readRoot, readSignedFile, type Envelope, type JsonObject, type RoleName, type RootMetadata,
} from '../../../agent/src/formats/index.js';
import { decodeKeyFile, encodeKeyFile, type SigningKey } from './keys.js';

/** Paths inside a key directory. */
export function keyPaths(dir: string): { root: string; roots: string; private: string } {
  return { root: join(dir, 'root.json'), roots: join(dir, 'roots'), private: join(dir, 'private') };
}

/** Write private keys with mode 0600 (and their directory 0700). */
export async function savePrivateKeys(dir: string, keys: readonly SigningKey[]): Promise<void> {
  const p = keyPaths(dir).private;
  await fsp.mkdir(p, { recursive: true, mode: 0o700 });
  await fsp.chmod(p, 0o700);
  for (const k of keys) await writeFileAtomic(join(p, `${k.keyid}.json`), encodeKeyFile(k), 0o600);
}

/** Write a signed root as the current root and into the history. */
export async function saveRoot(dir: string, document: JsonObject, version: number): Promise<void> {
  const paths = keyPaths(dir);
  await fsp.mkdir(paths.roots, { recursive: true });
  const bytes = canonicalBytes(document);
  await writeFileAtomic(join(paths.roots, `${version}.root.json`), bytes);
  await writeFileAtomic(paths.root, bytes);
}

/** The current root of a key directory. */
export async function loadCurrentRoot(dir: string): Promise<{ root: RootMetadata; envelope: Envelope }> {
  const file = keyPaths(dir).root;
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new OtaError('KEYS_MISSING', `${file} not found: run ota-fleet keygen --out ${dir} first`);
  const envelope = readSignedFile(bytes, file);
  return { root: readRoot(envelope, file), envelope };
}

/** The private keys present for `role` of `root` (refuses when fewer than its threshold). */
export async function roleKeys(dir: string, root: RootMetadata, role: RoleName): Promise<SigningKey[]> {
  const found: SigningKey[] = [];
  for (const id of root.roles[role].keyids) {
    const file = join(keyPaths(dir).private, `${id}.json`);
    const bytes = await readFileIfExists(file);
    if (bytes !== undefined) found.push(decodeKeyFile(bytes, file));
  }
  if (found.length < root.roles[role].threshold) {
    throw new OtaError('KEYS_MISSING', `${dir}: ${found.length} of the ${root.roles[role].threshold} ${role} private keys root v${root.version} requires are present`);
  }
  return found;
}

/** The rotated roots (version 2 and up) of the history, oldest first, the last `max` of them. */
export async function rotationChain(dir: string, max: number): Promise<Uint8Array[]> {
  const { roots } = keyPaths(dir);
  const names = await fsp.readdir(roots).catch(() => []);
  const versions = names.map((n) => /^([0-9]+)\.root\.json$/.exec(n)?.[1]).filter((v): v is string => v !== undefined)
    .map(Number).filter((v) => v >= 2).sort((a, b) => a - b).slice(-max);
  return Promise.all(versions.map((v) => fsp.readFile(join(roots, `${v}.root.json`))));
}
