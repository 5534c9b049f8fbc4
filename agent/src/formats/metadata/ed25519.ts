/**
 * ed25519 as securesystemslib uses it: a public key object
 * `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":HEX}}`, its keyid
 * the sha256 of that object's canonical JSON, signatures as 128 hex digits.
 * tweetnacl accepts a signature whose S is not reduced mod L (S+L verifies
 * too): `isCanonicalS` closes that malleability.
 */
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { canonicalBytes } from './canonical.js';
import type { JsonObject } from './json.js';

/** Length of an ed25519 signature in bytes. */
export const SIGNATURE_BYTES = 64;
/** Length of an ed25519 public key (and of its private seed) in bytes. */
export const PUBLIC_KEY_BYTES = 32;

/** The public key object securesystemslib hashes into a keyid. */
export function publicKeyObject(publicHex: string): JsonObject {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
}

/** sha256 hex of the canonical JSON of a key object (the object as a root lists it). */
export function keyidOf(keyObject: JsonObject): string {
  return createHash('sha256').update(canonicalBytes(keyObject)).digest('hex');
}

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);

/** True when the S half of `sig` (bytes 32..63, little-endian) is below L, as RFC 8032 requires. */
export function isCanonicalS(sig: Uint8Array): boolean {
  if (sig.length !== SIGNATURE_BYTES) return false;
  for (let k = 31; k >= 0; k--) {
    const s = sig[32 + k] ?? 0;
    const l = L[k] ?? 0;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/** Verify an ed25519 signature (length and S < L checked first). */
export function verifyEd25519(message: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES || !isCanonicalS(sig)) return false;
  return nacl.sign.detached.verify(message, sig, publicKey);
}

/** Add L to the S half of a signature: the malleated twin tweetnacl still accepts (for tests and docs). */
export function malleate(sig: Uint8Array): Uint8Array {
  const out = Uint8Array.from(sig);
  let carry = 0;
  for (let k = 0; k < 32; k++) {
    const sum = (out[32 + k] ?? 0) + (L[k] ?? 0) + carry;
    out[32 + k] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}
