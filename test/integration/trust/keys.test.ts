/**
 * Roots whose keys are not what their keyids make them look like: one public
 * key under two keyids (a second spelling with `keyid_hash_algorithms`), and
 * public keys of small order or not canonical. A device refuses such a root
 * when provisioned and when it arrives as a rotation; signatures count key
 * material, never keyids; a small-order key never verifies anything.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  canonicalBytes, encodeNotice, isRefusal, keyidOf, pointProblem, publicKeyObject, readRoot, readEnvelope, verifyEd25519,
  type JsonObject, type RoleName, type RootMetadata,
} from '../../../agent/src/formats/index.js';
import { TrustVerifier, loadRoot, provisionRoot, verifyRole } from '../../../agent/src/trust/index.js';
import { rootSigned } from '../../../fleet/src/keys/index.js';
import { tempDir } from '../../support/tools.js';
import {
  BUILD_TIME_MS, NOW_MS, defaultRoles, releaseSigned, rolloutSigned, sign, signatureOf, snapshot, testKey,
} from '../../support/trust.js';

const LATER_MS = Date.parse('2031-01-01T00:00:00Z');
const IDENTITY = `01${'00'.repeat(31)}`;

/** The second spelling of a key older securesystemslib writes (a different keyid for the same key). */
function legacyKeyObject(publicHex: string): JsonObject {
  return { ...publicKeyObject(publicHex), keyid_hash_algorithms: ['sha256', 'sha512'] };
}

/** Root v`version`'s signed part with `extra` keys added to `role` (signed by root key 1). */
function rootWith(role: RoleName, extra: { keyid: string; key: JsonObject }[], threshold: number, version = 1): JsonObject {
  const signed = rootSigned(version, LATER_MS, defaultRoles());
  const keys = signed['keys'];
  const roles = signed['roles'];
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys) || typeof roles !== 'object' || roles === null || Array.isArray(roles)) throw new Error('fixture');
  const ids = extra.map((e) => e.keyid);
  const current = roles[role];
  const listed = typeof current === 'object' && current !== null && !Array.isArray(current) && Array.isArray(current['keyids']) ? current['keyids'] : [];
  for (const e of extra) keys[e.keyid] = e.key;
  roles[role] = { keyids: [...listed, ...ids], threshold };
  return sign(signed, [testKey(1)]);
}

function refusedMalformed(run: () => unknown, pattern: RegExp): void {
  try {
    run();
    assert.unreachable('accepted');
  } catch (err) {
    assert.ok(isRefusal(err, 'malformed'), String(err));
    assert.match(err.message, pattern, err.message);
  }
}

test('one public key under two keyids is refused in a root (provisioning and rotation), for thresholds and across roles', async () => {
  const k2 = testKey(2);
  const twin = legacyKeyObject(k2.publicHex);
  const twinId = keyidOf(twin);
  assert.is.not(twinId, k2.keyid);
  // A 2-of-2 release role met by one key, and the same key as rollout key.
  for (const [role, threshold] of [['release', 2], ['rollout', 1]] as const) {
    const root = rootWith(role, [{ keyid: twinId, key: twin }], threshold);
    refusedMalformed(() => loadRoot(canonicalBytes(root), 'root.json'), /a second time/);
    const { dir, cleanup } = tempDir('ota-keys-');
    try {
      await provisionRoot(dir, canonicalBytes(root)).then(
        () => assert.unreachable('provisioned a root listing one key twice'),
        (err: unknown) => assert.ok(isRefusal(err, 'malformed'), String(err)),
      );
      assert.equal(snapshot(dir), {}, 'provisioning wrote something');
    } finally {
      cleanup();
    }
  }
  // The same root as a rotation in a notice: refused, and the device keeps root v1.
  const { dir, cleanup } = tempDir('ota-keys-');
  try {
    await provisionRoot(dir, canonicalBytes(sign(rootSigned(1, LATER_MS, defaultRoles()), [testKey(1)])));
    const v2 = rootWith('release', [{ keyid: twinId, key: twin }], 2, 2);
    const release = { signed: releaseSigned(3), signatures: [
      { keyid: k2.keyid, sig: signatureOf(sign(releaseSigned(3), [k2])) },
      { keyid: twinId, sig: signatureOf(sign(releaseSigned(3), [k2])) },
    ] };
    const rollout = sign(rolloutSigned(3, release), [testKey(3)]);
    const verifier = new TrustVerifier({ dir, device: { hardwareId: 'hw-a' }, buildTimeMs: BUILD_TIME_MS }, () => NOW_MS);
    const before = snapshot(dir);
    await verifier.accept(encodeNotice({ roots: [v2], release, rollout })).then(
      () => assert.unreachable('accepted a rotation to a root listing one key twice'),
      (err: unknown) => assert.ok(isRefusal(err, 'malformed'), String(err)),
    );
    assert.equal(snapshot(dir), before);
  } finally {
    cleanup();
  }
});

test('signatures count distinct public keys: one key under two keyids of a role never meets a threshold of 2', () => {
  const k2 = testKey(2);
  const twinId = keyidOf(legacyKeyObject(k2.publicHex));
  const key2 = Buffer.from(k2.publicHex, 'hex');
  // A root as a buggy reader might have built it, bypassing readRoot's check: verifyRole must still count keys.
  const good = readRoot(readEnvelope(sign(rootSigned(1, LATER_MS, defaultRoles()), [testKey(1)]), 'r'), 'r');
  const root: RootMetadata = {
    ...good,
    keys: new Map([...good.keys, [twinId, { keyid: twinId, publicKey: key2 }]]),
    roles: { ...good.roles, release: { keyids: [k2.keyid, twinId], threshold: 2 } },
  };
  const signedOnce = sign(releaseSigned(3), [k2]);
  const release = readEnvelope({ ...signedOnce, signatures: [
    { keyid: k2.keyid, sig: signatureOf(signedOnce) }, { keyid: twinId, sig: signatureOf(signedOnce) },
  ] }, 'release');
  try {
    verifyRole(release, root, 'release', 'release');
    assert.unreachable('one key met a 2-of-2 threshold');
  } catch (err) {
    assert.ok(isRefusal(err, 'threshold'), String(err));
  }
});

test('small-order and non-canonical public keys: refused in a root, and never verify (R = identity, S = 0 forges any message)', () => {
  const forged = Buffer.from(`${IDENTITY}${'00'.repeat(32)}`, 'hex');
  const message = canonicalBytes(releaseSigned(3));
  assert.is(verifyEd25519(message, forged, Buffer.from(IDENTITY, 'hex')), false, 'the identity key verified a forged signature');
  const p = 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'; // y = p, a second spelling of y = 0
  const bad = [
    IDENTITY, `01${'00'.repeat(30)}80`, // the identity, and with the sign bit set
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
    '00'.repeat(32), // order 4
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8, sign bit set
    p, 'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'ff'.repeat(32),
  ];
  for (const hex of bad) {
    assert.ok(pointProblem(Buffer.from(hex, 'hex')) !== undefined, hex);
    const keyObj = publicKeyObject(hex);
    refusedMalformed(() => loadRoot(canonicalBytes(rootWith('release', [{ keyid: keyidOf(keyObj), key: keyObj }], 1)), 'root.json'), /small order|not canonical/);
  }
  for (const n of [1, 2, 3, 200]) assert.is(pointProblem(Buffer.from(testKey(n).publicHex, 'hex')), undefined, `key ${n}`);
});

test.run();
