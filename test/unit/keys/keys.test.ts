/**
 * Fleet keys: key files round-trip and refuse a mismatched seed, signing
 * counts each key once, durations parse strictly; and the rollout's spread.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readEnvelope, readRollout, startDelayMs } from '../../../agent/src/formats/index.js';
import { decodeKeyFile, encodeKeyFile, parseDurationMs, signDocument } from '../../../fleet/src/keys/index.js';
import { releaseSigned, rolloutSigned, sign, testKey } from '../../support/trust.js';

test('a key file round-trips; a file whose public key does not match its seed is refused', () => {
  const k = testKey(9);
  const back = decodeKeyFile(encodeKeyFile(k), 'k');
  assert.equal([back.keyid, back.publicHex, Buffer.from(back.seed).toString('hex')], [k.keyid, k.publicHex, Buffer.from(k.seed).toString('hex')]);
  const forged = Buffer.from(encodeKeyFile(k)).toString('utf8').replace(k.publicHex, testKey(8).publicHex);
  assert.throws(() => decodeKeyFile(Buffer.from(forged), 'k'), (e: unknown) => e instanceof OtaError && e.code === 'KEY_MISMATCH');
});

test('signDocument signs once per distinct key', () => {
  const doc = signDocument({ a: 1 }, [testKey(1), testKey(1), testKey(2)]);
  const sigs = doc['signatures'];
  assert.ok(Array.isArray(sigs));
  assert.is(sigs.length, 2);
});

test('durations: 30d, 12h, 90m, 45s, 2w; anything else is refused', () => {
  assert.equal(['30d', '12h', '90m', '45s', '2w'].map((t) => parseDurationMs(t, '--x')), [30 * 86_400_000, 12 * 3_600_000, 90 * 60_000, 45_000, 2 * 604_800_000]);
  for (const bad of ['0d', '1.5d', '-1d', '30', 'd', '1y', ' 1d', '01d']) {
    assert.throws(() => parseDurationMs(bad, '--x'), (e: unknown) => e instanceof OtaError && e.code === 'USAGE', bad);
  }
});

test('the spread window: a delay uniform in [0, spreadSeconds), none when 0', () => {
  const r = sign(releaseSigned(1), [testKey(2)]);
  const rollout = (spreadSeconds: number) => readRollout(readEnvelope(sign(rolloutSigned(1, r, { spreadSeconds }), [testKey(3)]), 'o'), 'o');
  const hour = rollout(3600);
  assert.is(startDelayMs(hour, () => 0), 0);
  assert.is(startDelayMs(hour, () => 0.5), 1_800_000);
  assert.ok(startDelayMs(hour, () => 0.999_999_9) < 3_600_000);
  assert.is(startDelayMs(rollout(0), () => 0.7), 0);
});

test.run();
