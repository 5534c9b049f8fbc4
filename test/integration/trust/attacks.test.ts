/**
 * One test per attack class: the verifier refuses with the attack's typed
 * reason, and the trust directory (root.json, state.json) is byte for byte,
 * mode and mtime, what it was before.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nacl from 'tweetnacl';
import { PPM, canonicalBytes, cohortPpm, encodeNotice, isRefusal, malleate, type JsonObject, type RefusalReason } from '../../../agent/src/formats/index.js';
import { TrustVerifier, loadTrustState, provisionRoot, type NoticeOptions } from '../../../agent/src/trust/index.js';
import { tempDir } from '../../support/tools.js';
import {
  BUILD_TIME_MS, NOW_MS, digest, goodNotice, releaseSigned, replaceText, rolloutSigned, rootV1, sign, signatureOf, snapshot, testKey,
} from '../../support/trust.js';

interface Device { dir: string; verifier: TrustVerifier; setClock(ms: number): void; cleanup(): void }

async function device(root: JsonObject = rootV1()): Promise<Device> {
  const { dir, cleanup } = tempDir('ota-trust-');
  await provisionRoot(dir, canonicalBytes(root));
  let clockMs = NOW_MS;
  const verifier = new TrustVerifier({ dir, device: { hardwareId: 'hw-a', deviceId: 'dev-1', cohort: 'beta' }, buildTimeMs: BUILD_TIME_MS }, () => clockMs);
  return { dir, verifier, setClock: (ms) => { clockMs = ms; }, cleanup };
}

/** Assert `notice` is refused for `reason` and that nothing in the trust directory changed. */
async function refuses(d: Device, notice: Uint8Array, reason: RefusalReason | 'any', options: NoticeOptions = {}): Promise<void> {
  const before = snapshot(d.dir);
  const stateBefore = await loadTrustState(d.dir);
  try {
    await d.verifier.accept(notice, options);
    assert.unreachable(`accepted a notice that should be refused as ${reason}`);
  } catch (err) {
    assert.ok(isRefusal(err), `not a refusal: ${String(err)}`);
    if (reason !== 'any') assert.is(err.reason, reason, err.message);
  }
  assert.equal(snapshot(d.dir), before, 'the trust directory changed');
  const after = await loadTrustState(d.dir);
  assert.equal([after.installedVersion, after.rolloutVersion, after.timeFloorMs, after.failedVersions, after.trusted.root.version],
    [stateBefore.installedVersion, stateBefore.rolloutVersion, stateBefore.timeFloorMs, stateBefore.failedVersions, stateBefore.trusted.root.version]);
}

/** Run `body` against a fresh device, always cleaning up. */
function attack(name: string, body: (d: Device) => Promise<void>): void {
  test(name, async () => {
    const d = await device();
    try { await body(d); } finally { d.cleanup(); }
  });
}

function notice(release: JsonObject, rollout: JsonObject): Uint8Array {
  return encodeNotice({ roots: [], release, rollout });
}

attack('control: a good notice is accepted and raises the rollout version and time floor', async (d) => {
  const a = await d.verifier.accept(goodNotice(3, 5));
  assert.is(a.release.version, 3);
  const s = await loadTrustState(d.dir);
  assert.is(s.rolloutVersion, 5);
  assert.is(s.timeFloorMs, Date.parse('2029-12-31T00:00:00Z'));
});

attack('unsigned: a release with no signature', async (d) => {
  const release = { signed: releaseSigned(3), signatures: [] };
  await refuses(d, notice(release, sign(rolloutSigned(3, release), [testKey(3)])), 'unsigned');
});

attack('unknown key: a release signed by a key the root does not name', async (d) => {
  const release = sign(releaseSigned(3), [testKey(99)]);
  await refuses(d, notice(release, sign(rolloutSigned(3, release), [testKey(3)])), 'unknown-key');
});

attack('one byte flipped in the payload (a digest in the signed release)', async (d) => {
  const good = goodNotice(3);
  const sha = digest('image-3:1'); // a segment digest: the document stays well-formed
  await refuses(d, replaceText(good, sha, `${sha.slice(0, 10)}${sha[10] === '0' ? '1' : '0'}${sha.slice(11)}`), 'bad-signature');
});

attack('one byte flipped in a signature (R half)', async (d) => {
  const release = sign(releaseSigned(3), [testKey(2)]);
  const sig = signatureOf(release);
  const flipped = `${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`;
  await refuses(d, replaceText(goodNotice(3), sig, flipped), 'bad-signature');
});

attack('a bit flipped at any of a spread of positions in a notice is refused', async (d) => {
  const good = goodNotice(3);
  const before = snapshot(d.dir);
  let refused = 0;
  for (let k = 0; k < good.length; k += 11) {
    const bad = Uint8Array.from(good);
    bad[k] = (bad[k] ?? 0) ^ 0x01;
    const outcome = await d.verifier.accept(bad).then(() => 'accepted', (e: unknown) => (isRefusal(e) ? 'refused' : `error ${String(e)}`));
    assert.is(outcome, 'refused', `bit 0 of byte ${k}`);
    refused++;
  }
  assert.ok(refused > 100, `${refused} flips`);
  assert.equal(snapshot(d.dir), before, 'the trust directory changed');
});

attack('re-serialised JSON: pretty-printed, reordered or re-escaped notices are refused', async (d) => {
  const good = goodNotice(3);
  const parsed: unknown = JSON.parse(Buffer.from(good).toString('utf8'));
  await refuses(d, Buffer.from(JSON.stringify(parsed, null, 2)), 'non-canonical');
  await refuses(d, Buffer.from(`${Buffer.from(good).toString('utf8')}\n`), 'non-canonical');
  await refuses(d, replaceText(good, '"_type":"notice"', '"_type":"notic\\u0065"'), 'non-canonical');
  const text = Buffer.from(good).toString('utf8');
  const body = text.slice(1, -1);
  const firstComma = body.indexOf(',"release":');
  await refuses(d, Buffer.from(`{${body.slice(firstComma + 1)},${body.slice(0, firstComma)}}`), 'non-canonical');
});

attack('duplicate keys, in the envelope and inside a signed part', async (d) => {
  await refuses(d, replaceText(goodNotice(3), '{"_type":"notice",', '{"_type":"notice","_type":"notice",'), 'duplicate-key');
  await refuses(d, replaceText(goodNotice(3), '"hardware":["hw-a"]', '"hardware":["hw-a"],"hardware":["hw-a"]'), 'duplicate-key');
  await refuses(d, replaceText(goodNotice(3), '"spreadSeconds":0', '"__proto__":0,"__proto__":1,"spreadSeconds":0'), 'duplicate-key');
});

attack('signature of the wrong length, not hex, base64 or uppercase', async (d) => {
  const release = sign(releaseSigned(3), [testKey(2)]);
  const sig = signatureOf(release);
  const good = goodNotice(3);
  for (const bad of [sig.slice(2), `${sig}00`, `zz${sig.slice(2)}`, Buffer.from(sig, 'hex').toString('base64'), sig.toUpperCase(), '']) {
    await refuses(d, replaceText(good, sig, bad), 'malformed-signature');
  }
});

attack('S+L malleated signature (which tweetnacl alone accepts)', async (d) => {
  const signed = releaseSigned(3);
  const release = sign(signed, [testKey(2)]);
  const sig = signatureOf(release);
  const twin = malleate(Buffer.from(sig, 'hex'));
  const pub = Buffer.from(testKey(2).publicHex, 'hex');
  assert.ok(nacl.sign.detached.verify(canonicalBytes(signed), twin, pub), 'tweetnacl should accept S+L (else this test proves nothing)');
  await refuses(d, replaceText(goodNotice(3), sig, Buffer.from(twin).toString('hex')), 'malleable-signature');
});

attack('threshold not met: 1 of 2 release keys, and one key listed twice', async () => {
  const roles = { root: { keys: [testKey(1)], threshold: 1 }, release: { keys: [testKey(2), testKey(4)], threshold: 2 }, rollout: { keys: [testKey(3)], threshold: 1 } };
  const d = await device(rootV1(roles));
  try {
    const signed = releaseSigned(3);
    const one = sign(signed, [testKey(2)]);
    await refuses(d, notice(one, sign(rolloutSigned(3, one), [testKey(3)])), 'threshold');
    const twice = { signed, signatures: [...arr(one['signatures']), ...arr(one['signatures'])] };
    await refuses(d, notice(twice, sign(rolloutSigned(3, twice), [testKey(3)])), 'threshold');
    const both = sign(signed, [testKey(2), testKey(4)]);
    assert.is((await d.verifier.check(notice(both, sign(rolloutSigned(3, both), [testKey(3)])))).release.version, 3);
  } finally {
    d.cleanup();
  }
});

function arr(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter((x): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x)) : [];
}

attack('expired: a release past its expiry, a rollout past its expiry', async (d) => {
  await refuses(d, goodNotice(3, 3, [], { expires: '2029-06-01T00:00:00Z' }), 'expired');
  const release = sign(releaseSigned(3), [testKey(2)]);
  await refuses(d, notice(release, sign(rolloutSigned(3, release, { expires: '2029-12-31T12:00:00Z' }), [testKey(3)])), 'expired');
});

attack('expired, with the clock at 1970: the agent build time is the floor', async (d) => {
  d.setClock(0);
  await refuses(d, goodNotice(3, 3, [], { expires: '2025-06-01T00:00:00Z' }), 'expired');
});

attack('expired, with the clock at 1970: the latest signed time seen is the floor', async (d) => {
  const release = sign(releaseSigned(3), [testKey(2)]);
  d.setClock(Date.parse('2030-06-01T12:00:00Z'));
  await d.verifier.accept(notice(release, sign(rolloutSigned(4, release, { issued: '2030-06-01T00:00:00Z' }), [testKey(3)])));
  d.setClock(0);
  await refuses(d, goodNotice(5, 5, [], { expires: '2030-03-01T00:00:00Z' }), 'expired');
});

attack('rollback: a lower version than installed, and the installed version itself', async (d) => {
  await d.verifier.committed(5);
  await refuses(d, goodNotice(4, 9), 'rollback');
  await refuses(d, goodNotice(5, 9), 'already-installed');
  assert.is((await d.verifier.check(goodNotice(6, 9))).release.version, 6);
});

attack('rollback: an older notice arriving after a newer one', async (d) => {
  const older = goodNotice(6, 7);
  await d.verifier.accept(goodNotice(6, 8));
  await refuses(d, older, 'rollback');
});

attack('a version that failed its health check is not offered again', async (d) => {
  await d.verifier.failed(6);
  await refuses(d, goodNotice(6, 8), 'failed-before');
});

attack('versions 2^53, 1e308, "9", -1 and 1.5 are refused (release and rollout)', async (d) => {
  const good = goodNotice(3, 4);
  for (const v of ['9007199254740992', '1e308', '"9"', '-1', '1.5']) {
    await refuses(d, replaceText(good, '"version":3', `"version":${v}`), 'malformed');
    await refuses(d, replaceText(good, '"version":4', `"version":${v}`), 'malformed');
  }
  for (const v of ['9', -1]) {
    const release = sign(releaseSigned(3, { version: v }), [testKey(2)]);
    await refuses(d, notice(release, sign(rolloutSigned(3, release), [testKey(3)])), 'malformed');
  }
});

attack('wrong hardware, wrong device, wrong cohort', async (d) => {
  await refuses(d, goodNotice(3, 3, [], { hardware: ['hw-b'] }), 'wrong-hardware');
  const release = sign(releaseSigned(3), [testKey(2)]);
  const to = (audience: JsonObject): Uint8Array => notice(release, sign(rolloutSigned(3, release, { audience }), [testKey(3)]));
  await refuses(d, to({ all: false, devices: ['dev-2'], cohorts: [] }), 'wrong-device');
  await refuses(d, to({ all: false, devices: [], cohorts: ['alpha'] }), 'wrong-device');
  assert.is((await d.verifier.check(to({ all: false, devices: [], cohorts: ['beta'] }))).release.version, 3);
});

attack('staged cohort: a device is in the stage exactly when its place is below the ppm; 0 ppm is a signed halt', async (d) => {
  const release = sign(releaseSigned(3), [testKey(2)]);
  const to = (audience: JsonObject): Uint8Array => notice(release, sign(rolloutSigned(3, release, { audience }), [testKey(3)]));
  const place = cohortPpm('ro-1', 'dev-1');
  const staged = (ppm: number, rollout = 'ro-1'): JsonObject => ({ all: false, devices: [], cohorts: [], stage: { rollout, ppm } });
  assert.is((await d.verifier.check(to(staged(place + 1)))).rollout.audience.stage?.ppm, place + 1);
  await refuses(d, to(staged(place)), 'wrong-device');
  await refuses(d, to(staged(0)), 'wrong-device');
  assert.is((await d.verifier.check(to(staged(PPM)))).release.version, 3);
  await refuses(d, to({ all: true, devices: [], cohorts: [], stage: { rollout: 'ro-1', ppm: PPM } }), 'malformed');
  await refuses(d, to(staged(PPM + 1)), 'malformed');
  await refuses(d, to(staged(-1)), 'malformed');
  await refuses(d, to(staged(10, 'has space')), 'malformed');
  // a member a later fleet adds is read as absent (forward compatibility, docs/trust.md): the stage alone decides
  assert.is((await d.verifier.check(to({ all: false, devices: [], cohorts: [], stage: { rollout: 'ro-1', ppm: PPM, later: 1 } }))).release.version, 3);
  await refuses(d, to({ all: false, devices: [], cohorts: [], stage: { rollout: 'ro-1', ppm: place, later: 1 } }), 'wrong-device');
});

attack('mix-and-match: a rollout of another release, a delta for another base, an artifact not in the release', async (d) => {
  const r6 = sign(releaseSigned(6), [testKey(2)]);
  const r7 = sign(releaseSigned(7), [testKey(2)]);
  await refuses(d, notice(r6, sign(rolloutSigned(3, r7), [testKey(3)])), 'mix-and-match');
  const r6b = sign(releaseSigned(6, { hardware: ['hw-a', 'hw-b'] }), [testKey(2)]);
  await refuses(d, notice(r6b, sign(rolloutSigned(3, r6), [testKey(3)])), 'mix-and-match');
  const good = notice(r6, sign(rolloutSigned(3, r6), [testKey(3)]));
  const baseB = { sizeBytes: 4096, sha256: digest('base-B') };
  await refuses(d, good, 'mix-and-match', { current: baseB, artifactPath: 'targets/delta-6-from-A.delta' });
  await refuses(d, good, 'mix-and-match', { artifactPath: 'targets/delta-6-from-A.delta' });
  await refuses(d, good, 'mix-and-match', { artifactPath: 'targets/other.img' });
  const baseA = { sizeBytes: 4096, sha256: digest('base-A') };
  assert.is((await d.verifier.check(good, { current: baseA })).artifact.path, 'targets/delta-6-from-A.delta');
  assert.is((await d.verifier.check(good, { current: baseB })).artifact.path, 'targets/image-6.img');
});

attack('the rollout key signing a release (and the release key signing a rollout)', async (d) => {
  const release = sign(releaseSigned(3), [testKey(3)]);
  await refuses(d, notice(release, sign(rolloutSigned(3, release), [testKey(3)])), 'wrong-role');
  const good = sign(releaseSigned(3), [testKey(2)]);
  await refuses(d, notice(good, sign(rolloutSigned(3, good), [testKey(2)])), 'wrong-role');
});

attack('oversize payload: refused before parsing', async (d) => {
  await refuses(d, new Uint8Array(256 * 1024 + 1).fill(0x5b), 'oversize');
});

attack('10,000-deep nesting is refused without a stack overflow', async (d) => {
  await refuses(d, Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`), 'too-deep');
  await refuses(d, Buffer.from(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`), 'too-deep');
});

test.run();
