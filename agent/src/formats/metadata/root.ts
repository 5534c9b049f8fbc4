/**
 * Root metadata: the keys and thresholds of every role, TUF's root role.
 * `signed` = {"_type":"root","version":N,"expires":T,"keys":{KEYID:KEY},
 * "roles":{"root"|"release"|"rollout":{"keyids":[...],"threshold":N}}}.
 */
import { anyObject, hexOf, known, member, malformed, specVersion, uint, utcTime } from './fields.js';
import { keyidOf, pointProblem } from './ed25519.js';
import type { JsonValue } from './json.js';
import { expectType, type Envelope } from './envelope.js';

/** The roles a root names. */
export const ROLES = ['root', 'release', 'rollout'] as const;
/** One role. */
export type RoleName = (typeof ROLES)[number];

/** A role's keys and how many of them must sign. */
export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

/** An ed25519 public key as a root lists it. */
export interface PublicKey {
  readonly keyid: string;
  /** 32-byte public key. */
  readonly publicKey: Uint8Array;
}

/** Checked root metadata. */
export interface RootMetadata {
  readonly version: number;
  readonly expiresMs: number;
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: Readonly<Record<RoleName, RoleKeys>>;
}

/**
 * Check a root's `signed` part. Every keyid must be the sha256 of its key's
 * canonical JSON, no public key may appear under two keyids (older
 * securesystemslib's `keyid_hash_algorithms` gives one key a second spelling,
 * hence a second keyid: refused, so thresholds and roles count key material),
 * no key may be non-canonical or of small order, every role must list
 * distinct known keys with 1 <= threshold <= count, and no key may serve two
 * roles (the rollout key can then never count as a release key).
 */
export function readRoot(env: Envelope, path: string): RootMetadata {
  specVersion(env.signed, `${path}.signed`);
  const s = known(env.signed, `${path}.signed`, ['_type', 'version', 'expires', 'keys', 'roles']);
  expectType(s, 'root', `${path}.signed`);
  const keys = readKeys(member(s, 'keys'), `${path}.signed.keys`);
  const rolesObj = known(member(s, 'roles'), `${path}.signed.roles`, ROLES);
  const owner = new Map<string, RoleName>();
  const role = (name: RoleName): RoleKeys => {
    const p = `${path}.signed.roles.${name}`;
    const r = known(member(rolesObj, name), p, ['keyids', 'threshold']);
    const ids = member(r, 'keyids');
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 64) malformed(`${p}.keyids`, 'must list 1 to 64 keyids');
    const keyids = ids.map((id, k) => hexOf(id, `${p}.keyids[${k}]`, 32));
    for (const id of keyids) {
      if (!keys.has(id)) malformed(`${p}.keyids`, `names key ${id} that "keys" does not list`);
      if (owner.has(id)) malformed(`${p}.keyids`, `key ${id} also serves role ${owner.get(id) ?? ''} (or is listed twice)`);
      owner.set(id, name);
    }
    const threshold = uint(member(r, 'threshold'), `${p}.threshold`);
    if (threshold < 1 || threshold > keyids.length) malformed(`${p}.threshold`, `must be 1..${keyids.length}`);
    return { keyids, threshold };
  };
  return {
    version: uint(member(s, 'version'), `${path}.signed.version`),
    expiresMs: utcTime(member(s, 'expires'), `${path}.signed.expires`),
    keys,
    roles: { root: role('root'), release: role('release'), rollout: role('rollout') },
  };
}

function readKeys(v: JsonValue | undefined, path: string): Map<string, PublicKey> {
  const obj = anyObject(v, path);
  const keys = new Map<string, PublicKey>();
  const seen = new Map<string, string>();
  for (const id of Object.keys(obj)) {
    const p = `${path}.${id.slice(0, 16)}`;
    hexOf(id, `${path} keyid`, 32);
    // keyid_hash_algorithms: older securesystemslib (< 0.28) writes it into the key object and hashes it too.
    const key = known(member(obj, id), p, ['keytype', 'scheme', 'keyval']);
    if (member(key, 'keytype') !== 'ed25519' || member(key, 'scheme') !== 'ed25519') malformed(p, 'keytype and scheme must be "ed25519"');
    const keyval = known(member(key, 'keyval'), `${p}.keyval`, ['public']);
    const publicHex = hexOf(member(keyval, 'public'), `${p}.keyval.public`, 32);
    if (keyidOf(key) !== id) malformed(p, `keyid ${id} is not the sha256 of the key's canonical JSON`);
    const problem = pointProblem(Buffer.from(publicHex, 'hex'));
    if (problem !== undefined) malformed(`${p}.keyval.public`, `${problem}: not a usable ed25519 public key`);
    const twin = seen.get(publicHex);
    if (twin !== undefined) malformed(p, `lists the public key of keyid ${twin} a second time (one key, one keyid, one role)`);
    seen.set(publicHex, id);
    keys.set(id, { keyid: id, publicKey: Buffer.from(publicHex, 'hex') });
  }
  return keys;
}
