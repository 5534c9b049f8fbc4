/**
 * The securesystemslib envelope every signed document uses:
 * `{"signed": {...}, "signatures": [{"keyid": HEX, "sig": HEX}]}`.
 * The signature covers the canonical JSON of `signed`.
 */
import { canonicalBytes } from './canonical.js';
import { anyObject, array, known, member, malformed } from './fields.js';
import type { JsonObject, JsonValue } from './json.js';
import { Refusal } from './refusal.js';

/** One signature entry, its fields checked as strings (their hex form is checked when verifying). */
export interface SignatureEntry {
  readonly keyid: string;
  readonly sig: string;
}

/** A parsed envelope: the signed object, its canonical bytes, and the signatures. */
export interface Envelope {
  /** The whole envelope as parsed (its canonical bytes are the document's bytes). */
  readonly document: JsonObject;
  readonly signed: JsonObject;
  /** Canonical JSON of `signed`: the exact bytes the signatures cover. */
  readonly signedBytes: Uint8Array;
  readonly signatures: readonly SignatureEntry[];
}

/** Most signatures accepted on one document (more keys than any role could list). */
export const MAX_SIGNATURES = 64;

/**
 * Read an envelope from parsed JSON. An empty signature list is `unsigned`; a
 * signature entry whose members are not strings is `malformed-signature`.
 */
export function readEnvelope(v: JsonValue | undefined, path: string): Envelope {
  const env = known(v, path, ['signed', 'signatures']);
  const signed = anyObject(member(env, 'signed'), `${path}.signed`);
  const list = array(member(env, 'signatures'), `${path}.signatures`, MAX_SIGNATURES);
  if (list.length === 0) throw new Refusal('unsigned', `${path}: carries no signature`);
  const signatures = list.map((s, k) => signatureEntry(s, `${path}.signatures[${k}]`));
  return { document: env, signed, signedBytes: canonicalBytes(signed), signatures };
}

function signatureEntry(v: JsonValue, path: string): SignatureEntry {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed(path, 'must be an object');
  const keyid = member(v, 'keyid');
  const sig = member(v, 'sig');
  if (typeof keyid !== 'string' || typeof sig !== 'string' || Object.keys(v).length !== 2) {
    throw new Refusal('malformed-signature', `${path}: must be {"keyid": HEX, "sig": HEX}`);
  }
  return { keyid, sig };
}

/** The `_type` member of a signed object (checked against `expected`). */
export function expectType(signed: JsonObject, expected: string, path: string): void {
  if (member(signed, '_type') !== expected) malformed(`${path}._type`, `must be "${expected}"`);
}
