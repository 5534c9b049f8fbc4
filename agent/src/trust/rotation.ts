/**
 * Root rotation, TUF's chain of trust: each new root must have the version
 * right after the trusted one and be signed by a threshold of the trusted
 * root's root keys AND a threshold of its own root keys. Roots the device
 * already trusts (same or lower version) in a notice are skipped.
 */
import {
  Refusal, readRoot, readSignedFile, type Envelope, type RootMetadata,
} from '../formats/index.js';
import { verifyRole } from './signatures.js';

/** A trusted root and the envelope it was read from (to persist after a rotation). */
export interface TrustedRoot {
  readonly root: RootMetadata;
  readonly envelope: Envelope;
}

/** Read a root file a device is provisioned with, refusing it unless its own root keys signed it. */
export function loadRoot(bytes: Uint8Array, what: string): TrustedRoot {
  const envelope = readSignedFile(bytes, what);
  const root = readRoot(envelope, what);
  verifyRole(envelope, root, 'root', `${what} (root v${root.version}, its own keys)`);
  return { root, envelope };
}

/** Follow the rotations in `roots` from `trusted`; returns the newest trusted root (maybe `trusted` itself). */
export function rotateRoot(trusted: TrustedRoot, roots: readonly Envelope[], what: string): TrustedRoot {
  let current = trusted;
  for (const [k, envelope] of roots.entries()) {
    const path = `${what}.roots[${k}]`;
    const next = readRoot(envelope, path);
    if (next.version <= current.root.version) continue;
    if (next.version !== current.root.version + 1) {
      throw new Refusal('rotation-gap', `${path}: root v${next.version} does not follow the trusted root v${current.root.version} (versions go up by exactly one)`);
    }
    asThreshold(() => verifyRole(envelope, current.root, 'root', `${path} (root v${next.version}, by the root keys of trusted root v${current.root.version})`));
    asThreshold(() => verifyRole(envelope, next, 'root', `${path} (root v${next.version}, by its own new root keys)`));
    current = { root: next, envelope };
  }
  return current;
}

/** A rotation short of either key set's signatures is a `threshold` refusal, whatever else signed it. */
function asThreshold(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof Refusal && (err.reason === 'unknown-key' || err.reason === 'wrong-role')) throw new Refusal('threshold', err.message, { cause: err });
    throw err;
  }
}
