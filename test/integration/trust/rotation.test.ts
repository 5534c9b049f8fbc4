/**
 * Root rotation: a new root is followed only when it has the next version and
 * is signed by a threshold of the old root keys and of its own root keys. A
 * refused rotation writes nothing; an accepted one replaces root.json.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METADATA_LIMITS, canonicalBytes, encodeNotice, fields, isRefusal, parseStrictJson, type JsonObject, type JsonValue, type RefusalReason } from '../../../agent/src/formats/index.js';
import { TrustVerifier, loadTrustState, provisionRoot } from '../../../agent/src/trust/index.js';
import { signDocument, rootSigned } from '../../../fleet/src/keys/index.js';
import { tempDir } from '../../support/tools.js';
import {
  BUILD_TIME_MS, NOW_MS, defaultRoles, releaseSigned, rolloutSigned, rootV1, rotated, sign, snapshot, testKey,
} from '../../support/trust.js';

const v1Roles = defaultRoles();
/** Root v2: new root key 11 and new rollout key 13 (the rollout key was lost). */
const v2Roles = { root: { keys: [testKey(11)], threshold: 1 }, release: v1Roles.release, rollout: { keys: [testKey(13)], threshold: 1 } };
const v3Roles = { ...v2Roles, root: { keys: [testKey(21)], threshold: 1 } };
const LATER_MS = Date.parse('2031-01-01T00:00:00Z');

function noticeWith(roots: JsonValue[], rolloutKey = testKey(13)): Uint8Array {
  const release = sign(releaseSigned(3), [testKey(2)]);
  return encodeNotice({ roots, release, rollout: sign(rolloutSigned(3, release), [rolloutKey]) });
}

async function withDevice(body: (dir: string, v: TrustVerifier) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('ota-rotation-');
  try {
    await provisionRoot(dir, canonicalBytes(rootV1(v1Roles)));
    await body(dir, new TrustVerifier({ dir, device: { hardwareId: 'hw-a' }, buildTimeMs: BUILD_TIME_MS }, () => NOW_MS));
  } finally {
    cleanup();
  }
}

async function refused(dir: string, v: TrustVerifier, notice: Uint8Array, reason: RefusalReason): Promise<void> {
  const before = snapshot(dir);
  const err = await v.accept(notice).then(() => undefined, (e: unknown) => e);
  assert.ok(isRefusal(err), `expected a ${reason} refusal, got ${String(err)}`);
  assert.is(err.reason, reason, err.message);
  assert.equal(snapshot(dir), before, 'the trust directory changed');
  assert.is((await loadTrustState(dir)).trusted.root.version, 1);
}

test('a rotation signed by the old and the new root keys is followed and persisted', async () => {
  await withDevice(async (dir, v) => {
    const v2 = rotated(1, [testKey(1)], v2Roles);
    const a = await v.accept(noticeWith([v2]));
    assert.ok(a.rotated);
    assert.is(a.trusted.root.version, 2);
    assert.equal(readFileSync(join(dir, 'root.json')), Buffer.from(canonicalBytes(v2)));
    // The new rollout key now works without the chain; the lost one no longer does.
    assert.is((await v.check(noticeWith([]))).trusted.root.version, 2);
    const err = await v.check(noticeWith([], testKey(3))).then(() => undefined, (e: unknown) => e);
    assert.ok(isRefusal(err, 'unknown-key'), String(err));
  });
});

test('a chain of two rotations in one notice is followed; an old root in the chain is skipped', async () => {
  await withDevice(async (_dir, v) => {
    const v2 = rotated(1, [testKey(1)], v2Roles);
    const v3 = rotated(2, [testKey(11)], v3Roles);
    assert.is((await v.accept(noticeWith([rootV1(v1Roles), v2, v3]))).trusted.root.version, 3);
  });
});

test('rotation not signed by the old root keys', async () => {
  await withDevice(async (dir, v) => {
    await refused(dir, v, noticeWith([signDocument(rootSigned(2, LATER_MS, v2Roles), [testKey(11)])]), 'threshold');
  });
});

test('rotation not signed by the new root keys', async () => {
  await withDevice(async (dir, v) => {
    await refused(dir, v, noticeWith([signDocument(rootSigned(2, LATER_MS, v2Roles), [testKey(1)])]), 'threshold');
  });
});

test('rotation signed by the old rollout key instead of the old root key', async () => {
  await withDevice(async (dir, v) => {
    await refused(dir, v, noticeWith([signDocument(rootSigned(2, LATER_MS, v2Roles), [testKey(3), testKey(11)])]), 'threshold');
  });
});

test('rotation skipping a version (v1 -> v3), or a gap inside the chain', async () => {
  await withDevice(async (dir, v) => {
    const v3 = signDocument(rootSigned(3, LATER_MS, v3Roles), [testKey(1), testKey(21)]);
    await refused(dir, v, noticeWith([v3]), 'rotation-gap');
    const v2 = rotated(1, [testKey(1)], v2Roles);
    const v4 = signDocument(rootSigned(4, LATER_MS, v3Roles), [testKey(11), testKey(21)]);
    await refused(dir, v, noticeWith([v2, v4]), 'rotation-gap');
  });
});

test('a rotation to an expired root is refused', async () => {
  await withDevice(async (dir, v) => {
    await refused(dir, v, noticeWith([rotated(1, [testKey(1)], v2Roles, Date.parse('2029-01-01T00:00:00Z'))]), 'expired');
  });
});

test('a root whose keyid is not the hash of its key is refused', async () => {
  await withDevice(async (dir, v) => {
    const signed: JsonObject = rootSigned(2, LATER_MS, v2Roles);
    const text = Buffer.from(canonicalBytes(signed)).toString('utf8').replaceAll(testKey(13).keyid, testKey(14).keyid);
    const forged = fields.anyObject(parseStrictJson(Buffer.from(text), METADATA_LIMITS, 'forged root'), 'forged root');
    await refused(dir, v, noticeWith([signDocument(forged, [testKey(1), testKey(11)])]), 'malformed');
  });
});

test.run();
