/**
 * Release channels in the trust verifier (docs/trust.md, "Release channels"): the signed channel switch
 * (bad signature, wrong role, expired, replayed, unknown channel, retired channel, another device),
 * mix-and-match across channels, per-channel floors, a local `channel set`, and a power cut between the
 * switch accepted and the install done. Each refusal writes nothing in the trust directory.
 */
import { test } from 'uvu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { canonicalBytes, encodeNotice, isRefusal, readChannelSwitch, readEnvelope, type JsonObject, type RefusalReason } from '../../../agent/src/formats/index.js';
import { TrustVerifier, loadTrustState, provisionRoot } from '../../../agent/src/trust/index.js';
import { tempDir } from '../../support/tools.js';
import { BUILD_TIME_MS, NOW_MS, releaseSigned, replaceText, rolloutSigned, rootV1, sign, snapshot, testKey } from '../../support/trust.js';

const RELEASE_KEY = [testKey(2)];
const ROLLOUT_KEY = [testKey(3)];
const SWITCH_EXPIRES = '2030-01-08T00:00:00Z';

interface Device { dir: string; verifier: TrustVerifier; reopen(): TrustVerifier; cleanup(): void }

async function device(channel = 'next', installed = 12): Promise<Device> {
  const { dir, cleanup } = tempDir('ota-channel-');
  await provisionRoot(dir, canonicalBytes(rootV1()));
  const reopen = (): TrustVerifier => new TrustVerifier({ dir, device: { hardwareId: 'hw-a', deviceId: 'dev-1', cohort: 'beta', channel }, buildTimeMs: BUILD_TIME_MS }, () => NOW_MS);
  const verifier = reopen();
  await verifier.committed(installed);
  return { dir, verifier, reopen, cleanup };
}

/** A notice of release `version` on `channel` (rollout `rolloutVersion`), with a switch when given. */
function notice(version: number, rolloutVersion: number, channel: string, o: { switch?: JsonObject; releaseChannels?: string[]; releaseExpires?: string } = {}): Uint8Array {
  const release = sign(releaseSigned(version, {
    ...(o.releaseChannels === undefined && channel === 'stable' ? {} : { channels: o.releaseChannels ?? [channel] }),
    ...(o.releaseExpires === undefined ? {} : { expires: o.releaseExpires }),
  }), RELEASE_KEY);
  const rollout = sign(rolloutSigned(rolloutVersion, release, channel === 'stable' ? {} : { specVersion: '2.0', channel }), ROLLOUT_KEY);
  return encodeNotice({ roots: [], release, rollout, ...(o.switch === undefined ? {} : { switch: o.switch }) });
}

function switchSigned(counter: number, to = 'stable', overrides: JsonObject = {}): JsonObject {
  return { _type: 'channel-switch', counter, issued: '2029-12-31T00:00:00Z', expires: SWITCH_EXPIRES, to, audience: { all: false, devices: ['dev-1'], cohorts: [] }, ...overrides };
}

const switchTo = (counter: number, to = 'stable', overrides: JsonObject = {}, keys = ROLLOUT_KEY): JsonObject => sign(switchSigned(counter, to, overrides), keys);

async function refuses(d: Device, bytes: Uint8Array, reason: RefusalReason): Promise<void> {
  const before = snapshot(d.dir);
  try {
    await d.verifier.accept(bytes);
    assert.unreachable(`accepted what should be refused as ${reason}`);
  } catch (err) {
    assert.ok(isRefusal(err), `not a refusal: ${String(err)}`);
    assert.is(err.reason, reason, err.message);
  }
  assert.equal(snapshot(d.dir), before, 'the trust directory changed');
}

function on(name: string, body: (d: Device) => Promise<void>, channel?: string, installed?: number): void {
  test(name, async () => {
    const d = await device(channel, installed);
    try { await body(d); } finally { d.cleanup(); }
  });
}

on('control: a signed switch from next at 12 to stable at 9 is accepted; the device follows stable, floor 9', async (d) => {
  const a = await d.verifier.accept(notice(9, 5, 'stable', { switch: switchTo(1) }));
  assert.equal([a.release.version, a.channel, a.switch?.to, a.switch?.counter], [9, 'stable', 'stable', 1]);
  const s = await loadTrustState(d.dir);
  assert.equal([s.channel, s.installedVersion, s.channelFloors, s.switchCounter, s.pendingSwitch?.version], ['stable', 9, { next: 12 }, 1, 9]);
  assert.is(await d.verifier.channel(), 'stable');
});

on('mix-and-match across channels: a stable notice to a device on next, and a next release put on stable by a rollout', async (d) => {
  await refuses(d, notice(13, 5, 'stable'), 'mix-and-match');
  await refuses(d, notice(13, 5, 'next', { releaseChannels: ['stable'] }), 'mix-and-match');
  assert.is((await d.verifier.accept(notice(13, 5, 'next'))).release.version, 13); // control: its own channel
});

on('switch: a flipped byte in the switch is a bad signature', async (d) => {
  await refuses(d, replaceText(notice(9, 5, 'stable', { switch: switchTo(1) }), '"counter":1', '"counter":2'), 'bad-signature');
});

on('switch: signed by the release key is the wrong role', async (d) => {
  await refuses(d, notice(9, 5, 'stable', { switch: switchTo(1, 'stable', {}, RELEASE_KEY) }), 'wrong-role');
});

on('switch: expired', async (d) => {
  await refuses(d, notice(9, 5, 'stable', { switch: switchTo(1, 'stable', { issued: '2029-12-01T00:00:00Z', expires: '2029-12-02T00:00:00Z' }) }), 'expired');
});

on('switch: replayed after it was done, and a lower counter', async (d) => {
  const bytes = notice(9, 5, 'stable', { switch: switchTo(2) });
  await d.verifier.accept(bytes);
  await d.verifier.committed(9);
  assert.is((await loadTrustState(d.dir)).pendingSwitch, undefined);
  await refuses(d, bytes, 'replay');
  await refuses(d, notice(9, 6, 'stable', { switch: switchTo(1) }), 'replay');
  await refuses(d, notice(8, 7, 'stable'), 'rollback'); // stable's floor is 9 now
});

on('switch: to a channel the release is not signed for is an unknown channel', async (d) => {
  await refuses(d, notice(9, 5, 'lts', { switch: switchTo(1, 'lts'), releaseChannels: ['stable'] }), 'unknown-channel');
});

on('switch: to a retired channel (its current release expired) is refused', async (d) => {
  await refuses(d, notice(9, 5, 'stable', { switch: switchTo(1), releaseExpires: '2029-06-01T00:00:00Z' }), 'retired-channel');
});

on('switch: naming another device, or another channel than its rollout', async (d) => {
  await refuses(d, notice(9, 5, 'stable', { switch: switchTo(1, 'stable', { audience: { all: false, devices: ['dev-2'], cohorts: [] } }) }), 'wrong-device');
  await refuses(d, notice(9, 5, 'stable', { switch: switchTo(1, 'testing'), releaseChannels: ['stable', 'testing'] }), 'mix-and-match');
  assert.is((await d.verifier.accept(notice(9, 5, 'stable', { switch: switchTo(1, 'stable', { audience: { all: false, devices: [], cohorts: ['beta'] } }) }))).release.version, 9);
});

test('switch parser: all, nobody named, counter 0, a bad channel name and a validity past 30 days are malformed', () => {
  const read = (signed: JsonObject): unknown => readChannelSwitch(readEnvelope(sign(signed, ROLLOUT_KEY), 'switch'), 'switch');
  for (const bad of [
    switchSigned(1, 'stable', { audience: { all: true, devices: [], cohorts: [] } }),
    switchSigned(1, 'stable', { audience: { all: false, devices: [], cohorts: [] } }),
    switchSigned(0), switchSigned(1, 'Stable'), switchSigned(1, 'stable', { expires: '2030-03-01T00:00:00Z' }),
  ]) {
    try { read(bad); assert.unreachable(JSON.stringify(bad)); } catch (err) { assert.ok(isRefusal(err, 'malformed'), String(err)); }
  }
  assert.equal(read(switchSigned(3)), { counter: 3, issuedMs: Date.parse('2029-12-31T00:00:00Z'), expiresMs: Date.parse(SWITCH_EXPIRES), to: 'stable', devices: ['dev-1'], cohorts: [] });
});

on('power cut between the switch accepted and the install done: the channel and the switch survive; resuming re-verifies the same switch', async (d) => {
  const bytes = notice(9, 5, 'stable', { switch: switchTo(1) });
  await d.verifier.accept(bytes);
  // The process dies here (install not done); a new agent reads the trust state back from disk.
  const after = d.reopen();
  assert.is(await after.channel(), 'stable');
  assert.is((await after.accept(bytes)).release.version, 9, 'the journal resumes `verifying` with the same notice: not a replay');
  await after.committed(9);
  await refuses({ ...d, verifier: after }, bytes, 'replay');
  assert.is(await d.reopen().channel(), 'stable');
});

on('local channel set: follows the new channel forward only; never a release below the one installed', async (d) => {
  await d.verifier.setChannel('stable');
  const s = await loadTrustState(d.dir);
  assert.equal([s.channel, s.installedVersion, s.channelFloors], ['stable', 12, { next: 12 }]);
  await refuses(d, notice(9, 5, 'stable'), 'rollback');
  assert.is((await d.verifier.accept(notice(13, 6, 'stable'))).release.version, 13);
  try { await d.verifier.setChannel('Bad/Name'); assert.unreachable('bad name'); } catch (err) { assert.is(err instanceof Error && 'code' in err ? err.code : undefined, 'CHANNEL_INVALID'); }
});

on('a device that never used channels keeps its state.json without channel members (older agents read it)', async (d) => {
  const text = readFileSync(join(d.dir, 'state.json'), 'utf8');
  assert.equal(Object.keys(JSON.parse(text)), ['failedVersions', 'installedVersion', 'rolloutVersion', 'timeFloor']);
  const s = await loadTrustState(d.dir);
  assert.equal([s.channel, s.channelFloors, s.switchCounter, s.pendingSwitch], [undefined, undefined, undefined, undefined]);
  assert.is(await d.verifier.channel(), 'stable');
}, 'stable', 3);

test.run();
