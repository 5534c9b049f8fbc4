/**
 * Canonical JSON, ed25519 details (S < L), and the checks of root, release and
 * rollout documents: versions, sizes at the 32-bit edges, segment tiling.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nacl from 'tweetnacl';
import {
  canonicalString, compareCodePoints, isCanonicalS, isRefusal, malleate, readEnvelope, readRelease, releaseArtifacts, readRollout, readRoot,
  verifyEd25519, type JsonObject, type RefusalReason,
} from '../../../agent/src/formats/index.js';
import { artifact, digest, releaseSigned, rolloutSigned, rootV1, sign, testKey } from '../../support/trust.js';

function refused(fn: () => unknown, reason: RefusalReason, hint?: RegExp): void {
  try {
    fn();
    assert.unreachable(`expected ${reason}`);
  } catch (err) {
    assert.ok(isRefusal(err), String(err));
    assert.is(err.reason, reason, err.message);
    if (hint !== undefined) assert.match(err.message, hint);
  }
}

const release = (signed: JsonObject) => readRelease(readEnvelope(sign(signed, [testKey(2)]), 'r'), 'r');

test('canonical JSON: sorted by code point, only " and \\ escaped, no whitespace, integers only', () => {
  assert.is(canonicalString({ b: 1, a: [true, null, 'x"\\é'], '': {} }), '{"":{},"a":[true,null,"x\\"\\\\é"],"b":1}');
  assert.ok(compareCodePoints('\u{1F600}', '\uFFFF') > 0, 'an astral character sorts after U+FFFF (UTF-16 order would say otherwise)');
  assert.is(canonicalString({ '\uFFFF': 1, '\u{1F600}': 2 }), '{"\uFFFF":1,"\u{1F600}":2}');
  for (const bad of [1.5, 2 ** 53, 1e308, Number.NaN]) refused(() => canonicalString({ v: bad }), 'malformed');
  refused(() => canonicalString('\ud800'), 'malformed');
  refused(() => canonicalString('a\nb'), 'malformed');
});

test('ed25519: S+L verifies with tweetnacl alone, but not with verifyEd25519', () => {
  const k = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
  const msg = Buffer.from('message');
  const sig = nacl.sign.detached(msg, k.secretKey);
  assert.ok(isCanonicalS(sig));
  assert.ok(verifyEd25519(msg, sig, k.publicKey));
  const twin = malleate(sig);
  assert.ok(nacl.sign.detached.verify(msg, twin, k.publicKey));
  assert.not.ok(isCanonicalS(twin));
  assert.not.ok(verifyEd25519(msg, twin, k.publicKey));
  assert.not.ok(verifyEd25519(msg, sig.subarray(0, 63), k.publicKey));
});

test('versions must be safe non-negative integers: 2^53, 1e308, "9", -1, 1.5 are refused', () => {
  for (const v of [2 ** 53, 1e308, '9', -1, 1.5]) {
    refused(() => readRelease(readEnvelope({ signed: releaseSigned(1, { version: v }), signatures: [{ keyid: 'a', sig: 'b' }] }, 'r'), 'r'), 'malformed', /version/);
    const r = sign(releaseSigned(1), [testKey(2)]);
    refused(() => readRollout(readEnvelope({ signed: rolloutSigned(1, r, { version: v }), signatures: [{ keyid: 'a', sig: 'b' }] }, 'o'), 'o'), 'malformed', /version/);
  }
  assert.is(release(releaseSigned(2 ** 53 - 1)).version, 2 ** 53 - 1);
  assert.is(release(releaseSigned(0)).version, 0);
});

test('sizes 2^31-1, 2^31, 2^32-1, 2^32, 2^32+1 are kept exactly through release metadata and its segments', () => {
  for (const n of [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1]) {
    const sha = digest(`img-${n}`);
    const r = release(releaseSigned(1, { installed: { sizeBytes: n, sha256: sha }, image: { ...artifact('targets/i.img', 'raw', n), sha256: sha } }));
    assert.is(r.image.sizeBytes, n);
    assert.is(r.installed.sizeBytes, n);
    const [a, b] = r.image.segments;
    assert.is(a?.sizeBytes, Math.floor(n / 2));
    assert.is(b?.offset, Math.floor(n / 2));
    assert.is((a?.sizeBytes ?? 0) + (b?.sizeBytes ?? 0), n);
  }
});

test('segments must tile the artifact exactly: gaps, overlaps, short or long coverage are refused', () => {
  const base = artifact('targets/d.delta', 'otadelta', 2 ** 32 + 1);
  const seg = (offset: number, sizeBytes: number): JsonObject => ({ offset, sizeBytes, sha256: digest(`${offset}`) });
  const withSegs = (segments: JsonObject[]) => releaseSigned(1, { deltas: [{ ...base, segments, base: { sizeBytes: 1, sha256: digest('b') } }] });
  assert.is(release(withSegs([seg(0, 2 ** 32), seg(2 ** 32, 1)])).deltas[0]?.segments.length, 2);
  for (const segs of [[seg(0, 2 ** 32)], [seg(0, 2 ** 32), seg(2 ** 32 + 1, 0)], [seg(1, 2 ** 32 + 1)], [seg(0, 2 ** 32), seg(2 ** 32 - 1, 2)], [seg(0, 2 ** 32 + 2)], [seg(0, 0), seg(0, 2 ** 32 + 1)]]) {
    refused(() => release(withSegs(segs)), 'malformed');
  }
});

test('release: paths, identifiers, raw image vs installed, times are checked', () => {
  refused(() => release(releaseSigned(1, { image: artifact('../etc/passwd', 'raw', 4096, 'image-1') })), 'malformed', /path/);
  refused(() => release(releaseSigned(1, { image: artifact('/abs.img', 'raw', 4096, 'image-1') })), 'malformed', /path/);
  refused(() => release(releaseSigned(1, { hardware: [] })), 'malformed', /hardware/);
  refused(() => release(releaseSigned(1, { hardware: ['a b'] })), 'malformed', /hardware/);
  refused(() => release(releaseSigned(1, { image: artifact('targets/x.img', 'raw', 4096, 'other') })), 'malformed', /installed/);
  refused(() => release(releaseSigned(1, { expires: '2030-02-30T00:00:00Z' })), 'malformed', /expires/);
  refused(() => release(releaseSigned(1, { expires: '2030-01-01T00:00:00.000Z' })), 'malformed', /expires/);
});

test('forward compatibility: members this agent does not know are ignored (still signed); a newer specVersion major is refused as newer-spec', () => {
  // what a later fleet may add: a member on the release, on an artifact, on a segment, on the audience and on a key
  const later: JsonObject = { path: 'targets/x.img', format: 'raw', sizeBytes: 4096, sha256: digest('image-1'), compression: 'zstd',
    segments: [{ offset: 0, sizeBytes: 4096, sha256: digest('image-1'), note: 'x' }] };
  const r = release(releaseSigned(1, { channel: 'stable', specVersion: '1.7', image: later }));
  assert.is(r.version, 1);
  assert.is(r.image.sha256, digest('image-1'));
  const rollout = readRollout(readEnvelope(sign(rolloutSigned(1, releaseSigned(1), { audience: { all: true, devices: [], cohorts: [], groups: ['lab'] } }), [testKey(3)]), 'o'), 'o');
  assert.is(rollout.version, 1);
  const rootSigned = (extra: JsonObject): JsonObject => {
    const root = rootV1();
    const signed = root['signed'];
    if (typeof signed !== 'object' || signed === null || Array.isArray(signed)) throw new Error('rootV1 has no signed object');
    return { ...root, signed: { ...signed, ...extra } };
  };
  // (the root's signatures are not checked by readRoot: rotation and verifyRole do that)
  assert.is(readRoot(readEnvelope(rootSigned({ specVersion: '1.1', mirrors: [] }), 'root'), 'root').version, 1);
  // a document for a newer major is refused before its members are read, whatever they are
  // releases are format 2 since bootScript (RELEASE_SPEC_MAJOR): this agent reads 2.x, refuses 3.x
  assert.is(release(releaseSigned(1, { specVersion: '2.0' })).version, 1);
  refused(() => release(releaseSigned(1, { specVersion: '3.0' })), 'newer-spec', /format 3\.0.*update the agent first/);
  refused(() => release({ _type: 'release', specVersion: '3.0', whatever: true }), 'newer-spec');
  refused(() => readRollout(readEnvelope(sign(rolloutSigned(1, releaseSigned(1), { specVersion: '3.1' }), [testKey(3)]), 'o'), 'o'), 'newer-spec');
  refused(() => readRoot(readEnvelope(rootSigned({ specVersion: '2.0' }), 'root'), 'root'), 'newer-spec');
  for (const bad of ['1', '1.0.0', 'v1.0', '01.0', 1, null]) refused(() => release(releaseSigned(1, { specVersion: bad })), 'malformed', /specVersion/);
  // required members are still required
  const { image: _image, ...noImage } = releaseSigned(1);
  refused(() => release(noImage), 'malformed', /missing member "image"/);
});

test('release: the optional boot script is an artifact of format uboot-script, at most 1 MiB, and a bundle carries it', () => {
  const bootScript = artifact('targets/b.scr', 'uboot-script', 6000, 'script');
  const read = release(releaseSigned(1, { bootScript }));
  assert.equal(read.bootScript, bootScript);
  assert.is(releaseArtifacts(read).at(-1), read.bootScript, 'a bundle holds it too');
  assert.is(release(releaseSigned(1)).bootScript, undefined);
  refused(() => release(releaseSigned(1, { bootScript: artifact('targets/b.scr', 'raw', 6000, 'script') })), 'malformed', /bootScript\.format/);
  refused(() => release(releaseSigned(1, { bootScript: artifact('targets/b.scr', 'uboot-script', 1024 * 1024 + 1, 'script') })), 'malformed', /bootScript\.sizeBytes/);
});

test('release: the optional /etc manifest is an artifact of format etc-manifest, checked like any other', () => {
  const etc = artifact('targets/m.etc.json', 'etc-manifest', 300, 'manifest');
  assert.equal(release(releaseSigned(1, { etc })).etc, etc);
  assert.is(release(releaseSigned(1)).etc, undefined);
  refused(() => release(releaseSigned(1, { etc: artifact('targets/m.etc.json', 'raw', 300, 'manifest') })), 'malformed', /etc\.format/);
  refused(() => release(releaseSigned(1, { etc: artifact('../m.etc.json', 'etc-manifest', 300, 'manifest') })), 'malformed', /etc\.path/);
});

test('root: keyids must hash their keys, a key serves one role, thresholds fit', () => {
  const good = rootV1();
  assert.is(readRoot(readEnvelope(good, 'root'), 'root').version, 1);
  const signed = good['signed'];
  assert.ok(typeof signed === 'object' && signed !== null && !Array.isArray(signed));
  const roles = (over: JsonObject): JsonObject => ({ ...signed, roles: { ...(typeof signed['roles'] === 'object' ? signed['roles'] : {}), ...over } });
  const env = (s: JsonObject) => readEnvelope({ signed: s, signatures: [{ keyid: 'x', sig: 'y' }] }, 'root');
  refused(() => readRoot(env(roles({ rollout: { keyids: [testKey(2).keyid], threshold: 1 } })), 'root'), 'malformed', /also serves/);
  refused(() => readRoot(env(roles({ rollout: { keyids: [testKey(3).keyid], threshold: 2 } })), 'root'), 'malformed', /threshold/);
  refused(() => readRoot(env(roles({ rollout: { keyids: [testKey(3).keyid, testKey(3).keyid], threshold: 2 } })), 'root'), 'malformed');
  refused(() => readRoot(env(roles({ rollout: { keyids: [digest('nobody')], threshold: 1 } })), 'root'), 'malformed', /does not list/);
});

test.run();
