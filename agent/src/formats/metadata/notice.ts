/**
 * The MQTT notice: the small signed documents a device needs to decide on an
 * update, in one canonical JSON object:
 * {"_type":"notice","roots":[ROOT...],"release":RELEASE,"rollout":ROLLOUT}
 * (`roots`: the successive new roots after a key rotation, oldest first; empty
 * when none). A notice may also carry `"switch":SWITCH`, a signed channel switch (channel.ts) that
 * its release and rollout carry out; an agent without channels ignores the member.
 *
 * Byte rule: a notice, and every metadata file, must be exactly the canonical
 * JSON of what it parses to. The signatures cover the canonical form of each
 * `signed` part (as in TUF); requiring the received bytes to be that form means
 * the bytes verified are the bytes received, and one document has exactly one
 * accepted byte form: re-serialised JSON (other whitespace, member order,
 * escapes, `1.0` for `1`) is refused as `non-canonical` before any signature
 * is checked.
 */
import { canonicalBytes } from './canonical.js';
import { readEnvelope, type Envelope } from './envelope.js';
import { array, known, member, malformed } from './fields.js';
import { METADATA_LIMITS, parseStrictJson, type JsonLimits, type JsonValue } from './json.js';
import { Refusal } from './refusal.js';

/** A notice split into its envelopes (shape checked, signatures not yet). */
export interface Notice {
  readonly roots: readonly Envelope[];
  readonly release: Envelope;
  readonly rollout: Envelope;
  /** A signed channel switch (channel.ts) that this notice's release and rollout carry out, when there is one. */
  readonly switch?: Envelope;
}

/** Most root rotations one notice may carry. */
export const MAX_NOTICE_ROOTS = 16;

/** Parse and shape-check a notice's bytes (size cap, strict JSON, canonical form). */
export function readNotice(bytes: Uint8Array, limits: JsonLimits = METADATA_LIMITS, what = 'notice'): Notice {
  const v = parseCanonical(bytes, limits, what);
  const o = known(v, what, ['_type', 'roots', 'release', 'rollout']);
  if (member(o, '_type') !== 'notice') malformed(`${what}._type`, 'must be "notice"');
  const roots = array(member(o, 'roots'), `${what}.roots`, MAX_NOTICE_ROOTS).map((r, k) => readEnvelope(r, `${what}.roots[${k}]`));
  const switchValue = member(o, 'switch');
  return {
    roots,
    release: readEnvelope(member(o, 'release'), `${what}.release`),
    rollout: readEnvelope(member(o, 'rollout'), `${what}.rollout`),
    ...(switchValue === undefined ? {} : { switch: readEnvelope(switchValue, `${what}.switch`) }),
  };
}

/** Parse one signed metadata file (a root, a release, a rollout) into its envelope. */
export function readSignedFile(bytes: Uint8Array, what: string, limits: JsonLimits = METADATA_LIMITS): Envelope {
  return readEnvelope(parseCanonical(bytes, limits, what), what);
}

/** The canonical bytes of a notice made of these envelopes' JSON. */
export function encodeNotice(parts: { roots: readonly JsonValue[]; release: JsonValue; rollout: JsonValue; switch?: JsonValue }): Uint8Array {
  return canonicalBytes({
    _type: 'notice', roots: [...parts.roots], release: parts.release, rollout: parts.rollout,
    ...(parts.switch === undefined ? {} : { switch: parts.switch }),
  });
}

/** Strict parse, then refuse unless `bytes` is exactly the canonical JSON of the result. */
export function parseCanonical(bytes: Uint8Array, limits: JsonLimits, what: string): JsonValue {
  const v = parseStrictJson(bytes, limits, what);
  const canonical = canonicalBytes(v);
  if (Buffer.compare(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), Buffer.from(canonical)) !== 0) {
    throw new Refusal('non-canonical', `${what}: bytes are not canonical JSON (re-serialised? whitespace, member order or escapes differ); refused before checking signatures`);
  }
  return v;
}
