/**
 * Signed metadata for trust tests: deterministic keys, a root, releases,
 * rollouts and notices built in memory with the fleet's own signing code, and
 * a snapshot of a directory to prove that a refusal wrote nothing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalBytes, encodeNotice, type JsonObject, type JsonValue, type RoleName } from '../../agent/src/formats/index.js';
import { keyFromSeed, nextRoot, initialRoot, signDocument, type SigningKey, type RoleSpec } from '../../fleet/src/keys/index.js';

/** A deterministic key: seed = 32 bytes of `n`. */
export function testKey(n: number): SigningKey {
  return keyFromSeed(new Uint8Array(32).fill(n));
}

/** Root v1 roles: root key 1, release key 2, rollout key 3 (thresholds 1). */
export function defaultRoles(): Record<RoleName, RoleSpec> {
  return { root: { keys: [testKey(1)], threshold: 1 }, release: { keys: [testKey(2)], threshold: 1 }, rollout: { keys: [testKey(3)], threshold: 1 } };
}

/** The time tests treat as now, and how far metadata lives by default. */
export const NOW_MS = Date.parse('2030-01-01T00:00:00Z');
export const BUILD_TIME_MS = Date.parse('2026-01-01T00:00:00Z');
export const LATER = '2031-01-01T00:00:00Z';
const LATER_MS = Date.parse(LATER);

/** Signed root v1 for `roles`. */
export function rootV1(roles = defaultRoles(), expiresMs = LATER_MS): JsonObject {
  return initialRoot(expiresMs, roles);
}

/** Signed root v(previous+1) for `roles`, signed by `oldRootKeys` and the new root keys. */
export function rotated(previous: number, oldRootKeys: readonly SigningKey[], roles: Record<RoleName, RoleSpec>, expiresMs = LATER_MS): JsonObject {
  return nextRoot(previous, oldRootKeys, expiresMs, roles);
}

/** A sha256 hex of a label (stand-in digests for images). */
export function digest(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** An artifact entry of `sizeBytes` in two segments (one when tiny). */
export function artifact(path: string, format: string, sizeBytes: number, label = path): JsonObject {
  const half = Math.floor(sizeBytes / 2);
  const segments = half === 0 ? [{ offset: 0, sizeBytes, sha256: digest(`${label}:0`) }]
    : [{ offset: 0, sizeBytes: half, sha256: digest(`${label}:0`) }, { offset: half, sizeBytes: sizeBytes - half, sha256: digest(`${label}:1`) }];
  return { path, format, sizeBytes, sha256: digest(label), segments };
}

/** The `signed` part of a release (overrides replace members). */
export function releaseSigned(version: number, overrides: JsonObject = {}): JsonObject {
  const sizeBytes = 4096;
  return {
    _type: 'release', version, expires: LATER, hardware: ['hw-a'],
    installed: { sizeBytes, sha256: digest(`image-${version}`) },
    image: artifact(`targets/image-${version}.img`, 'raw', sizeBytes, `image-${version}`),
    deltas: [{ ...artifact(`targets/delta-${version}-from-A.delta`, 'otadelta', 1000), base: { sizeBytes, sha256: digest('base-A') } }],
    ...overrides,
  };
}

/** The `signed` part of a rollout of `release` (an envelope) to every device. */
export function rolloutSigned(version: number, release: JsonObject, overrides: JsonObject = {}): JsonObject {
  const signed = release['signed'];
  const releaseVersion = typeof signed === 'object' && signed !== null && !Array.isArray(signed) ? signed['version'] ?? 0 : 0;
  return {
    _type: 'rollout', version, issued: '2029-12-31T00:00:00Z', expires: LATER,
    release: { version: releaseVersion, sha256: createHash('sha256').update(canonicalBytes(signed ?? null)).digest('hex') },
    audience: { all: true, devices: [], cohorts: [] }, spreadSeconds: 0,
    ...overrides,
  };
}

/** Sign `signed` with `keys` (the fleet's signing code). */
export function sign(signed: JsonObject, keys: readonly SigningKey[]): JsonObject {
  return signDocument(signed, keys);
}

/** A notice of release `version` (rollout `rolloutVersion`) signed by the default keys. */
export function goodNotice(version: number, rolloutVersion = version, roots: JsonValue[] = [], releaseOverrides: JsonObject = {}): Uint8Array {
  const release = sign(releaseSigned(version, releaseOverrides), [testKey(2)]);
  const rollout = sign(rolloutSigned(rolloutVersion, release), [testKey(3)]);
  return encodeNotice({ roots, release, rollout });
}

/** Every file under `dir` with its bytes, mode and mtime: equal snapshots mean nothing was written. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) { out[p] = `dir ${st.mode} ${st.mtimeMs}`; walk(p); }
      else out[p] = `${st.mode} ${st.mtimeMs} ${readFileSync(p).toString('base64')}`;
    }
  };
  walk(dir);
  return out;
}

/** Replace the first occurrence of `from` in `bytes` (as text); throws when absent (a broken test). */
export function replaceText(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const text = Buffer.from(bytes).toString('utf8');
  if (!text.includes(from)) throw new Error(`test fixture: ${from} not found`);
  return Buffer.from(text.replace(from, to), 'utf8');
}

/** The hex `sig` of signature `k` of a signed document. */
export function signatureOf(doc: JsonObject, k = 0): string {
  const list = doc['signatures'];
  const entry = Array.isArray(list) ? list[k] : undefined;
  const sig = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry['sig'] : undefined;
  if (typeof sig !== 'string') throw new Error(`test fixture: no signature ${k}`);
  return sig;
}
