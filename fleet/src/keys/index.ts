/**
 * Fleet keys: ed25519 keys as securesystemslib stores them, signing into the
 * securesystemslib envelope, root metadata (initial and rotations), the key
 * directory.
 */
export { decodeKeyFile, encodeKeyFile, generateKey, keyFromSeed, signBytes, signDocument, type SigningKey } from './keys.js';
export { initialRoot, nextRoot, rootSigned, type RoleSpec } from './root.js';
export { keyPaths, loadCurrentRoot, roleKeys, rotationChain, savePrivateKeys, saveRoot } from './keydir.js';
export { parseDurationMs } from './duration.js';
