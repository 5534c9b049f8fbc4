/**
 * A stolen rollout (online) key, the whole story with the real fleet CLIs and a
 * device's trust store: the thief fast-forwards the rollout version (refused
 * past MAX_ROLLOUT_VERSION_STEP, so only step by step; at once on a device that
 * never accepted a rollout), the fleet runs the documented recovery
 * (`ota-fleet root rotate --rotate rollout`, then a new release), and the
 * device follows the rotation, forgets what the stolen key signed (TUF 5.3.11)
 * and takes every later rollout in order again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNotice, fields, isRefusal, parseStrictJson, METADATA_LIMITS, type JsonObject, type RefusalReason } from '../../../agent/src/formats/index.js';
import { writeFileAtomic } from '../../../agent/src/durable/index.js';
import { MAX_ROLLOUT_VERSION_STEP, TrustVerifier, loadTrustState, persistAccepted, provisionRoot, verifyNotice, type DurableWrite } from '../../../agent/src/trust/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { loadCurrentRoot, roleKeys, signDocument, type SigningKey } from '../../../fleet/src/keys/index.js';
import { runMain, tempDir } from '../../support/tools.js';
import { BUILD_TIME_MS, snapshot } from '../../support/trust.js';

const now = new Date('2030-01-01T00:00:00Z');

async function fleetOk(cwd: string, argv: string[]): Promise<void> {
  const r = await runMain(fleet, argv, { cwd, now });
  assert.is(r.code, 0, r.stderr);
}

function read(dir: string, file: string): JsonObject {
  return fields.anyObject(parseStrictJson(readFileSync(join(dir, file)), METADATA_LIMITS, file), file);
}

/** What the thief makes with the rollout key: the legitimate release of `releaseDir`, its rollout re-signed with `version`. */
function forged(dir: string, releaseDir: string, version: number, key: SigningKey): Uint8Array {
  const release = read(dir, `${releaseDir}/release.json`);
  const rollout = fields.anyObject(read(dir, `${releaseDir}/rollout.json`)['signed'], 'rollout.signed');
  return encodeNotice({ roots: [], release, rollout: signDocument({ ...rollout, version }, [key]) });
}

async function refused(device: TrustVerifier, dir: string, notice: Uint8Array, reason: RefusalReason): Promise<void> {
  const before = snapshot(dir);
  await device.accept(notice).then(
    () => assert.unreachable(`accepted; expected [${reason}]`),
    (err: unknown) => assert.ok(isRefusal(err, reason), String(err)),
  );
  assert.equal(snapshot(dir), before, 'a refusal wrote to the trust store');
}

/** Keys, images of releases 3 and 4, and release 3 signed in `dir`; returns the rollout key a thief holds. */
async function fleetWithRelease3(dir: string): Promise<SigningKey> {
  writeFileSync(join(dir, 'img3.bin'), Buffer.alloc(8192, 3));
  writeFileSync(join(dir, 'img4.bin'), Buffer.alloc(8192, 4));
  await fleetOk(dir, ['keygen', '--out', 'KEYS']);
  await fleetOk(dir, ['release', '--image', 'img3.bin', '--version', '3', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R3']);
  const { root } = await loadCurrentRoot(join(dir, 'KEYS'));
  const [stolen] = await roleKeys(join(dir, 'KEYS'), root, 'rollout');
  if (stolen === undefined) throw new Error('no rollout key');
  return stolen;
}

test('stolen rollout key: fast-forward bounded, then rotation and a new release recover the device; the old key and its versions stop counting', async () => {
  const { dir, cleanup } = tempDir('ota-theft-');
  try {
    const stolen = await fleetWithRelease3(dir);

    // Device 1 took rollout 1; device 2 never took a rollout.
    const devices = ['dev1', 'dev2'].map((name) => join(dir, name));
    const verifiers: TrustVerifier[] = [];
    for (const d of devices) {
      mkdirSync(d);
      await provisionRoot(d, readFileSync(join(dir, 'KEYS/root.json')));
      verifiers.push(new TrustVerifier({ dir: d, device: { hardwareId: 'hw-a' }, buildTimeMs: BUILD_TIME_MS }, () => now.getTime()));
    }
    const [dev1, dev2] = verifiers;
    const [dir1, dir2] = devices;
    if (dev1 === undefined || dev2 === undefined || dir1 === undefined || dir2 === undefined) throw new Error('fixture');
    await dev1.accept(readFileSync(join(dir, 'R3/notice.json')));

    // Theft: 2^53-1 at once is refused where a rollout was accepted; one step within the bound is not.
    await refused(dev1, dir1, forged(dir, 'R3', Number.MAX_SAFE_INTEGER, stolen), 'version-jump');
    await refused(dev1, dir1, forged(dir, 'R3', 1 + MAX_ROLLOUT_VERSION_STEP + 1, stolen), 'version-jump');
    await dev1.accept(forged(dir, 'R3', 1 + MAX_ROLLOUT_VERSION_STEP, stolen));
    const stolenEpoch = (await dev2.accept(forged(dir, 'R3', Number.MAX_SAFE_INTEGER, stolen))).rolloutEpoch;
    assert.is((await loadTrustState(dir2)).rolloutVersion, Number.MAX_SAFE_INTEGER);

    // Recovery, as docs/trust.md says: rotate the rollout key, release again (the fleet's counter goes on at 2).
    await fleetOk(dir, ['root', 'rotate', '--keys', 'KEYS', '--rotate', 'rollout']);
    await fleetOk(dir, ['release', '--image', 'img4.bin', '--version', '4', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R4']);
    for (const [k, verifier] of verifiers.entries()) {
      const a = await verifier.accept(readFileSync(join(dir, 'R4/notice.json')));
      assert.equal([a.trusted.root.version, a.rollout.version, a.release.version], [2, 2, 4], `device ${k + 1}`);
      // the daemon's notice order (journal, inbox) restarts with the epoch: test/unit/machine/sequence.test.ts
      assert.is.not(a.rolloutEpoch, stolenEpoch, `device ${k + 1}: the rotated keys start a new epoch`);
      const state = await loadTrustState(devices[k] ?? '');
      assert.equal([state.trusted.root.version, state.rolloutVersion], [2, 2], `device ${k + 1} forgot the stolen key's versions`);
    }
    // The stolen key no longer counts, whatever version it signs; the new key's rollouts go on in order.
    await refused(dev2, dir2, forged(dir, 'R4', Number.MAX_SAFE_INTEGER, stolen), 'unknown-key');
    await fleetOk(dir, ['rollout', '--release', 'R4', '--keys', 'KEYS']);
    const r3 = readFileSync(join(dir, 'R4/notice.json'));
    const next = await dev2.accept(r3);
    assert.is((await loadTrustState(dir2)).rolloutVersion, 3);
    assert.is.not(next.rolloutEpoch, stolenEpoch);
  } finally {
    cleanup();
  }
});

test('a power cut between the two trust files while taking the recovery notice: the device still takes the next one', async () => {
  const { dir, cleanup } = tempDir('ota-theft-');
  try {
    const stolen = await fleetWithRelease3(dir);
    const dev = join(dir, 'dev');
    mkdirSync(dev);
    await provisionRoot(dev, readFileSync(join(dir, 'KEYS/root.json')));
    const verifier = new TrustVerifier({ dir: dev, device: { hardwareId: 'hw-a' }, buildTimeMs: BUILD_TIME_MS }, () => now.getTime());
    await verifier.accept(forged(dir, 'R3', MAX_ROLLOUT_VERSION_STEP, stolen));
    await fleetOk(dir, ['root', 'rotate', '--keys', 'KEYS', '--rotate', 'rollout']);
    await fleetOk(dir, ['release', '--image', 'img4.bin', '--version', '4', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R4']);
    const recovery = readFileSync(join(dir, 'R4/notice.json'));

    const state = await loadTrustState(dev);
    const accepted = verifyNotice({ notice: recovery, state, device: { hardwareId: 'hw-a' }, nowMs: now.getTime(), buildTimeMs: BUILD_TIME_MS });
    let writes = 0;
    const cutAfterOne: DurableWrite = async (file, bytes) => {
      if (writes++ > 0) throw new Error('power cut');
      await writeFileAtomic(file, bytes);
    };
    await persistAccepted(dev, state, accepted, cutAfterOne).then(() => assert.unreachable('no cut'), () => undefined);
    assert.is(writes, 2);

    // After the reboot: the same notice (redelivered) and the next rollout are taken.
    const again = new TrustVerifier({ dir: dev, device: { hardwareId: 'hw-a' }, buildTimeMs: BUILD_TIME_MS }, () => now.getTime());
    assert.is((await again.accept(recovery)).rollout.version, 2);
    await fleetOk(dir, ['rollout', '--release', 'R4', '--keys', 'KEYS']);
    assert.is((await again.accept(readFileSync(join(dir, 'R4/notice.json')))).rollout.version, 3);
    assert.equal([(await loadTrustState(dev)).trusted.root.version, (await loadTrustState(dev)).rolloutVersion], [2, 3]);
  } finally {
    cleanup();
  }
});

test.run();
