/**
 * ed25519 signing keys as securesystemslib stores them
 * (`{"keytype":"ed25519","scheme":"ed25519","keyid":ID,"keyval":{"public":HEX,"private":HEX}}`,
 * the private value being the 32-byte seed), and signing a document into the
 * securesystemslib envelope over the canonical JSON of `signed`.
 */
import nacl from 'tweetnacl';
import {
  canonicalBytes, fields, keyidOf, parseStrictJson, publicKeyObject, METADATA_LIMITS, type JsonObject,
} from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

/** A signing key. */
export interface SigningKey {
  readonly keyid: string;
  readonly publicHex: string;
  /** 32-byte ed25519 seed. */
  readonly seed: Uint8Array;
}

/** A new random key (tweetnacl's CSPRNG). */
export function generateKey(): SigningKey {
  return keyFromSeed(nacl.randomBytes(32));
}

/** The key for a 32-byte seed. */
export function keyFromSeed(seed: Uint8Array): SigningKey {
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const publicHex = Buffer.from(pair.publicKey).toString('hex');
  return { keyid: keyidOf(publicKeyObject(publicHex)), publicHex, seed: Uint8Array.from(seed) };
}

/** The key's private file content (securesystemslib's key dict). */
export function encodeKeyFile(key: SigningKey): Uint8Array {
  return canonicalBytes({
    keytype: 'ed25519', scheme: 'ed25519', keyid: key.keyid,
    keyval: { public: key.publicHex, private: Buffer.from(key.seed).toString('hex') },
  });
}

/** Read a private key file; refuses one whose public key or keyid does not match its seed. */
export function decodeKeyFile(bytes: Uint8Array, what: string): SigningKey {
  const { object, member, hexOf } = fields;
  const o = object(parseStrictJson(bytes, METADATA_LIMITS, what), what, ['keytype', 'scheme', 'keyid', 'keyval'], ['keyid_hash_algorithms']);
  const kv = object(member(o, 'keyval'), `${what}.keyval`, ['public', 'private']);
  const key = keyFromSeed(Buffer.from(hexOf(member(kv, 'private'), `${what}.keyval.private`, 32), 'hex'));
  if (key.publicHex !== member(kv, 'public') || key.keyid !== member(o, 'keyid')) {
    throw new OtaError('KEY_MISMATCH', `${what}: public key or keyid does not match the private seed; the file is damaged`);
  }
  return key;
}

/** The signature entry of `key` over `message` (128 hex digits). */
export function signBytes(key: SigningKey, message: Uint8Array): { keyid: string; sig: string } {
  const secret = nacl.sign.keyPair.fromSeed(key.seed).secretKey;
  return { keyid: key.keyid, sig: Buffer.from(nacl.sign.detached(message, secret)).toString('hex') };
}

/** The envelope `{"signed":..,"signatures":[..]}` of `signed`, signed by each of `keys` once. */
export function signDocument(signed: JsonObject, keys: readonly SigningKey[]): JsonObject {
  const message = canonicalBytes(signed);
  const unique = [...new Map(keys.map((k) => [k.keyid, k])).values()];
  return { signed, signatures: unique.map((k) => signBytes(k, message)) };
}
