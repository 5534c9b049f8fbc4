/**
 * Root metadata on the fleet side: the initial root and each rotation. A new
 * root has the next version and is signed by the old root keys (a threshold of
 * them) and by its own root keys, so devices can follow the chain.
 */
import {
  ROLES, formatUtcTime, publicKeyObject, type JsonObject, type RoleName,
} from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { signDocument, type SigningKey } from './keys.js';

/** One role's keys and threshold, as the fleet decides them. */
export interface RoleSpec {
  readonly keys: readonly SigningKey[];
  readonly threshold: number;
}

/** The `signed` part of a root with these roles. */
export function rootSigned(version: number, expiresMs: number, roles: Readonly<Record<RoleName, RoleSpec>>): JsonObject {
  const keys: JsonObject = {};
  const rolesJson: JsonObject = {};
  for (const name of ROLES) {
    const spec = roles[name];
    if (spec.keys.length === 0 || spec.threshold < 1 || spec.threshold > spec.keys.length) {
      throw new OtaError('USAGE', `role ${name}: threshold ${spec.threshold} needs 1..${spec.keys.length} keys`);
    }
    for (const k of spec.keys) keys[k.keyid] = publicKeyObject(k.publicHex);
    rolesJson[name] = { keyids: spec.keys.map((k) => k.keyid), threshold: spec.threshold };
  }
  return { _type: 'root', version, expires: formatUtcTime(expiresMs), keys, roles: rolesJson };
}

/** The signed initial root (version 1), signed by its own root keys. */
export function initialRoot(expiresMs: number, roles: Readonly<Record<RoleName, RoleSpec>>): JsonObject {
  return signDocument(rootSigned(1, expiresMs, roles), roles.root.keys);
}

/**
 * The next root after one of `previousVersion` whose root keys are
 * `oldRootKeys` (at least its threshold of them): signed by those and by the
 * new root keys.
 */
export function nextRoot(previousVersion: number, oldRootKeys: readonly SigningKey[], expiresMs: number, roles: Readonly<Record<RoleName, RoleSpec>>): JsonObject {
  return signDocument(rootSigned(previousVersion + 1, expiresMs, roles), [...oldRootKeys, ...roles.root.keys]);
}
