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

// The y coordinates (little-endian, sign bit clear) of the eight points of order 1, 2, 4 and 8:
// 1 (the identity), p-1, 0, and the two of order 8. Every small-order point has one of these
// with either sign bit; other encodings of them have y >= p and are refused as non-canonical.
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
];

/**
 * Why a 32-byte point encoding may not serve as a public key (or a signature's
 * R), or undefined when it may: a y of p or more (a second spelling of a point),
 * or a point of small order (the identity verifies any message with R = identity,
 * S = 0). libsodium refuses the same encodings.
 */
export function pointProblem(point: Uint8Array): string | undefined {
  if (point.length !== PUBLIC_KEY_BYTES) return `is ${point.length} bytes, not ${PUBLIC_KEY_BYTES}`;
  const y = Uint8Array.from(point);
  y[31] = (y[31] ?? 0) & 0x7f;
  // p = 2^255 - 19: y >= p when bytes 1..30 are 0xff, byte 31 is 0x7f and byte 0 is 0xed or more.
  if ((y[0] ?? 0) >= 0xed && y.subarray(1, 31).every((b) => b === 0xff) && y[31] === 0x7f) return 'is not canonical (y >= p)';
  if (SMALL_ORDER_Y.includes(Buffer.from(y).toString('hex'))) return 'is a point of small order';
  return undefined;
}

/** Verify an ed25519 signature (lengths, S < L, and a canonical key and R not of small order checked first). */
export function verifyEd25519(message: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== SIGNATURE_BYTES || !isCanonicalS(sig)) return false;
  if (pointProblem(publicKey) !== undefined || pointProblem(sig.subarray(0, 32)) !== undefined) return false;
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
