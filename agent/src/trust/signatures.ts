/**
 * Threshold signature checks, TUF style: a document is trusted for a role when
 * at least `threshold` distinct keys of that role signed its canonical
 * `signed` bytes. Each key counts once however often it is listed, and keys
 * are told apart by their public key bytes, not their keyids; malformed
 * or malleated (S >= L) signatures refuse the whole document.
 */
import {
  Refusal, isCanonicalS, verifyEd25519, ROLES, type Envelope, type RoleName, type RootMetadata,
} from '../formats/index.js';

const KEYID = /^[0-9a-f]{64}$/;
const SIG = /^[0-9a-f]{128}$/;

/** Refuse unless `env` is signed by a threshold of `root`'s keys for `role`; `what` names the document and the key set. */
export function verifyRole(env: Envelope, root: RootMetadata, role: RoleName, what: string): void {
  const { keyids, threshold } = root.roles[role];
  const good = new Set<string>(); // public keys (hex) with a good signature
  let bad = 0;
  let unknown = 0;
  let foreign: RoleName | undefined;
  for (const [k, s] of env.signatures.entries()) {
    if (!KEYID.test(s.keyid) || !SIG.test(s.sig)) {
      throw new Refusal('malformed-signature', `${what}: signature ${k} is not a 64-hex-digit keyid and a 128-hex-digit ed25519 signature`);
    }
    const sig = Buffer.from(s.sig, 'hex');
    if (!isCanonicalS(sig)) throw new Refusal('malleable-signature', `${what}: signature ${k} has S >= L (a malleated signature)`);
    const key = root.keys.get(s.keyid);
    if (key === undefined) { unknown++; continue; }
    if (!keyids.includes(s.keyid)) { foreign = roleOf(root, s.keyid); continue; }
    if (verifyEd25519(env.signedBytes, sig, key.publicKey)) good.add(Buffer.from(key.publicKey).toString('hex'));
    else bad++;
  }
  if (good.size >= threshold) return;
  const counted = `${good.size} of the ${threshold} ${role} key signature(s) required (root v${root.version})`;
  if (bad > 0) throw new Refusal('bad-signature', `${what}: ${bad} signature(s) by ${role} keys do not verify (altered bytes?); ${counted}`);
  if (foreign !== undefined) throw new Refusal('wrong-role', `${what}: signed by a ${foreign} key, which may not sign for ${role}; ${counted}`);
  if (good.size === 0 && unknown > 0) throw new Refusal('unknown-key', `${what}: signed only by keys root v${root.version} does not name`);
  throw new Refusal('threshold', `${what}: ${counted}`);
}

function roleOf(root: RootMetadata, keyid: string): RoleName | undefined {
  return ROLES.find((r) => root.roles[r].keyids.includes(keyid));
}
