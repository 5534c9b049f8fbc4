/**
 * The trust directory on the data partition: provisioning once, floors that
 * only go up, a damaged state that stops the agent instead of resetting the
 * anti-rollback floor, and `check` that never writes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { canonicalBytes, encodeNotice } from '../../../agent/src/formats/index.js';
import { MAX_FAILED_VERSIONS, MAX_ISSUED_AHEAD_MS, TrustVerifier, loadTrustState, provisionRoot } from '../../../agent/src/trust/index.js';
import { tempDir } from '../../support/tools.js';
import { BUILD_TIME_MS, NOW_MS, goodNotice, releaseSigned, rolloutSigned, rootV1, sign, snapshot, testKey } from '../../support/trust.js';

async function withStore(body: (dir: string, v: TrustVerifier) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('ota-store-');
  try {
    await provisionRoot(dir, canonicalBytes(rootV1()));
    await body(dir, new TrustVerifier({ dir, device: { hardwareId: 'hw-a' }, buildTimeMs: BUILD_TIME_MS }, () => NOW_MS));
  } finally {
    cleanup();
  }
}

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'ok', (e: unknown) => (e instanceof OtaError ? e.code : String(e)));
}

test('a root is provisioned once; a device without one refuses to verify', async () => {
  await withStore(async (dir) => {
    assert.is(await code(provisionRoot(dir, canonicalBytes(rootV1()))), 'TRUST_ALREADY_PROVISIONED');
  });
  const { dir, cleanup } = tempDir();
  try {
    assert.is(await code(loadTrustState(dir)), 'TRUST_NOT_PROVISIONED');
    const bad = canonicalBytes({ ...rootV1(), signatures: [] });
    assert.is(await code(provisionRoot(dir, bad)), 'unsigned');
  } finally {
    cleanup();
  }
});

test('the installed-version floor never goes down (a revert to an older slot keeps it)', async () => {
  await withStore(async (dir, v) => {
    await v.committed(5);
    await v.committed(3);
    assert.is((await loadTrustState(dir)).installedVersion, 5);
  });
});

test('failed versions are remembered, at most MAX_FAILED_VERSIONS of them', async () => {
  await withStore(async (dir, v) => {
    for (let k = 1; k <= MAX_FAILED_VERSIONS + 3; k++) await v.failed(k);
    const failed = (await loadTrustState(dir)).failedVersions;
    assert.is(failed.length, MAX_FAILED_VERSIONS);
    assert.is(failed[0], 4);
  });
});

test('a damaged state.json or root.json stops the verifier instead of resetting the floors', async () => {
  await withStore(async (dir, v) => {
    await v.committed(5);
    writeFileSync(join(dir, 'state.json'), '{"installedVersion":0}');
    assert.is(await code(v.accept(goodNotice(3))), 'TRUST_STATE_DAMAGED');
    writeFileSync(join(dir, 'root.json'), 'garbage');
    assert.is(await code(v.check(goodNotice(3))), 'TRUST_STATE_DAMAGED');
  });
});

test('check decides without writing; accept writes only after acceptance', async () => {
  await withStore(async (dir, v) => {
    const before = snapshot(dir);
    assert.is((await v.check(goodNotice(3))).release.version, 3);
    assert.equal(snapshot(dir), before);
    await v.accept(goodNotice(3));
    assert.not.equal(snapshot(dir), before);
  });
});

test('rollouts issued far in the future raise the time floor to at most a day past the clock, however many', async () => {
  await withStore(async (dir, v) => {
    const release = sign(releaseSigned(3), [testKey(2)]);
    const far = sign(rolloutSigned(4, release, { issued: '2999-01-01T00:00:00Z', expires: '2999-06-01T00:00:00Z' }), [testKey(3)]);
    await v.accept(encodeNotice({ roots: [], release, rollout: far }));
    assert.is((await loadTrustState(dir)).timeFloorMs, NOW_MS + MAX_ISSUED_AHEAD_MS);
    const next = sign(rolloutSigned(5, release, { issued: '2999-01-02T00:00:00Z', expires: '2999-06-01T00:00:00Z' }), [testKey(3)]);
    await v.accept(encodeNotice({ roots: [], release, rollout: next }));
    assert.is((await loadTrustState(dir)).timeFloorMs, NOW_MS + MAX_ISSUED_AHEAD_MS, 'repeated notices do not walk the floor forward');
    assert.is((await v.check(goodNotice(5, 6))).release.version, 5);
  });
});

test('notices handled concurrently are serialised: the older one is refused as a rollback', async () => {
  await withStore(async (_dir, v) => {
    const results = await Promise.all([v.accept(goodNotice(4, 9)), v.accept(goodNotice(4, 8)).then(() => 'accepted', (e: unknown) => (e instanceof OtaError ? e.code : 'error'))]);
    assert.is(results[1], 'rollback');
  });
});

test.run();
