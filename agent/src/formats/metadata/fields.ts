/**
 * Typed reads of parsed JSON: each returns the value in its checked type or
 * throws a `malformed` Refusal naming the field's path. No casts: every value
 * that leaves here has been checked.
 */
import { hasOwn, type JsonObject, type JsonValue } from './json.js';
import { Refusal } from './refusal.js';

/** Throw a `malformed` refusal about `path`. */
export function malformed(path: string, what: string): never {
  throw new Refusal('malformed', `${path}: ${what}`);
}

/** `v` as an object whose members are exactly `required` plus any of `optional`. */
export function object(v: JsonValue | undefined, path: string, required: readonly string[], optional: readonly string[] = []): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed(path, 'must be an object');
  for (const key of required) if (!hasOwn(v, key)) malformed(path, `missing member "${key}"`);
  for (const key of Object.keys(v)) {
    if (!required.includes(key) && !optional.includes(key)) malformed(path, `unknown member ${JSON.stringify(key)}`);
  }
  return v;
}

/**
 * `v` as a signed document's object: `required` must be there; members this agent does not know are
 * ignored, as python-tuf ignores unrecognised fields, so a fleet that adds a member does not strand
 * agents already in the field. A member whose meaning an older agent must not ignore comes with a
 * new major `specVersion` instead ({@link specVersion}, docs/trust.md).
 */
export function known(v: JsonValue | undefined, path: string, required: readonly string[]): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed(path, 'must be an object');
  for (const key of required) if (!hasOwn(v, key)) malformed(path, `missing member "${key}"`);
  return v;
}

/** The major version of the document format this agent reads (`specVersion` "1.x", or none). */
export const SPEC_MAJOR = 1;

/**
 * Check a signed object's optional `specVersion` ("MAJOR.MINOR"; absent reads as "1.0"): a major above
 * {@link SPEC_MAJOR} is a document made for a newer agent, refused as `newer-spec` before any other member
 * is read (its members may mean what this agent cannot know). A higher minor only adds members, ignored here.
 * A document type whose format this agent reads in a newer major passes its own `maxMajor` (a rollout: 2).
 */
export function specVersion(signed: JsonObject, path: string, maxMajor: number = SPEC_MAJOR): void {
  const v = member(signed, 'specVersion');
  if (v === undefined) return;
  const m = typeof v === 'string' ? /^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$/.exec(v) : null;
  if (m === null) return malformed(`${path}.specVersion`, 'must be "MAJOR.MINOR" (e.g. "1.0")');
  if (Number(m[1]) > maxMajor) {
    throw new Refusal('newer-spec', `${path}: made for format ${String(v)}, and this agent reads format ${maxMajor}.x: update the agent first (an agent release made with format ${maxMajor}.x metadata)`);
  }
}

/** `v` as an object, whatever its members. */
export function anyObject(v: JsonValue | undefined, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed(path, 'must be an object');
  return v;
}

/** The member `key` of `obj` (undefined when absent; own members only). */
export function member(obj: JsonObject, key: string): JsonValue | undefined {
  return hasOwn(obj, key) ? obj[key] : undefined;
}

/** `v` as an array (of at most `maxItems`). */
export function array(v: JsonValue | undefined, path: string, maxItems = 100_000): JsonValue[] {
  if (!Array.isArray(v)) return malformed(path, 'must be an array');
  if (v.length > maxItems) malformed(path, `more than ${maxItems} items`);
  return v;
}

/** `v` as a string matching `pattern`. */
export function string(v: JsonValue | undefined, path: string, pattern: RegExp, describe: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) return malformed(path, `must be ${describe}`);
  return v;
}

/** `v` as a safe non-negative integer: 2^53, 1e308, "9", -1 and 1.5 are all refused. */
export function uint(v: JsonValue | undefined, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    return malformed(path, `must be a safe non-negative integer (0..2^53-1), got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return v;
}

/** `v` as a boolean. */
export function boolean(v: JsonValue | undefined, path: string): boolean {
  if (typeof v !== 'boolean') return malformed(path, 'must be true or false');
  return v;
}

/** Lowercase hex of exactly `bytes` bytes. */
export function hexOf(v: JsonValue | undefined, path: string, bytes: number): string {
  return string(v, path, new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes * 2} lowercase hex digits`);
}

/** A sha256 digest: 64 lowercase hex digits. */
export function sha256Hex(v: JsonValue | undefined, path: string): string {
  return hexOf(v, path, 32);
}

/** An identifier (hardware id, device id, cohort, format): 1-128 of [A-Za-z0-9._:-]. */
export function ident(v: JsonValue | undefined, path: string): string {
  return string(v, path, /^[A-Za-z0-9._:-]{1,128}$/, 'an identifier (1-128 of A-Z a-z 0-9 . _ : -)');
}

/** A list of distinct identifiers. */
export function identList(v: JsonValue | undefined, path: string): string[] {
  const list = array(v, path).map((x, k) => ident(x, `${path}[${k}]`));
  if (new Set(list).size !== list.length) malformed(path, 'lists an identifier twice');
  return list;
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** A UTC time as TUF writes it (`2030-01-31T00:00:00Z`), returned as epoch milliseconds. */
export function utcTime(v: JsonValue | undefined, path: string): number {
  const s = string(v, path, TIME, 'a UTC time like 2030-01-31T00:00:00Z');
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || formatUtcTime(ms) !== s) malformed(path, `${s} is not a real date and time`);
  return ms;
}

/** Format epoch milliseconds as TUF's UTC time (seconds precision, `Z`). */
export function formatUtcTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
