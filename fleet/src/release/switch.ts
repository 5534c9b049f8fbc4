/**
 * `ota-fleet channel switch`: a signed channel switch (rollout role) for named devices or cohorts,
 * carried in a notice beside the target channel's current release and a fresh rollout of it that
 * targets the same devices. The switch counter (KEYS/switch.json) is written before use, as the rollout
 * counter is, so no two switches share one: a device accepts only a counter above the last it took.
 * docs/trust.md, "Release channels".
 */
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists } from '../../../agent/src/durable/index.js';
import {
  MAX_NOTICE_ROOTS, MAX_SWITCH_VALIDITY_MS, canonicalBytes, checkChannelName, formatUtcTime,
  readChannelSwitch, readRelease, readSignedFile, type JsonObject,
} from '../../../agent/src/formats/index.js';
import { loadCurrentRoot, roleKeys, rotationChain, signDocument } from '../keys/index.js';
import { deviceCheck, noticeBytes, releaseRef, signRollout } from './documents.js';
import { nextCounter, nextRolloutVersion } from './rollouts.js';

/** What to switch, for whom, until when. */
export interface SwitchOptions {
  readonly to: string;
  /** The directory of the target channel's current release (ota-fleet release --channel TO --out DIR). */
  readonly releaseDir: string;
  readonly devices: readonly string[];
  readonly cohorts: readonly string[];
  readonly nowMs: number;
  /** When the switch and its rollout expire (at most 30 days on). */
  readonly expiresMs: number;
}

/** The next switch counter of a key directory, recorded before use. */
export function nextSwitchCounter(keysDir: string): Promise<number> {
  return nextCounter(join(keysDir, 'switch.json'), 'counter');
}

function switchSigned(o: SwitchOptions, counter: number): JsonObject {
  const signed: JsonObject = {
    _type: 'channel-switch', counter, issued: formatUtcTime(o.nowMs), expires: formatUtcTime(o.expiresMs), to: o.to,
    audience: { all: false, devices: [...o.devices], cohorts: [...o.cohorts] },
  };
  const envelope = { document: { signed, signatures: [] }, signed, signedBytes: canonicalBytes(signed), signatures: [] };
  deviceCheck('ROLLOUT_INVALID', 'check --to, --device, --group and --expires', () => readChannelSwitch(envelope, 'switch'));
  return signed;
}

/** Sign a switch and the notice that carries it out; returns the notice bytes and the counter used. */
export async function signChannelSwitch(keysDir: string, o: SwitchOptions): Promise<{ notice: Uint8Array; counter: number; releaseVersion: number; rolloutVersion: number }> {
  checkChannelName(o.to, 'channel switch --to');
  if (o.devices.length + o.cohorts.length === 0) throw new OtaError('USAGE', 'channel switch: name the devices (--device ID) or groups (--group COHORT) to switch');
  if (o.expiresMs <= o.nowMs || o.expiresMs - o.nowMs > MAX_SWITCH_VALIDITY_MS) throw new OtaError('USAGE', 'channel switch: --expires must be within 30 days');
  const file = join(o.releaseDir, 'release.json');
  const bytes = await readFileIfExists(file);
  if (bytes === undefined) throw new OtaError('RELEASE_MISSING', `${file} not found: name the current release of channel ${o.to} (ota-fleet release --channel ${o.to})`);
  const envelope = readSignedFile(bytes, file);
  const release = readRelease(envelope, file);
  if (!release.channels.includes(o.to)) {
    throw new OtaError('CHANNEL_UNKNOWN', `channel switch: release ${release.version} in ${o.releaseDir} is on ${release.channels.join(', ')}, not ${o.to}: name that channel's current release`);
  }
  if (release.expiresMs <= o.nowMs) {
    throw new OtaError('CHANNEL_RETIRED', `channel switch: release ${release.version} of channel ${o.to} expired at ${formatUtcTime(release.expiresMs)}: devices refuse a switch to a channel without a current release`);
  }
  switchSigned(o, 1); // the device's check before a counter moves
  const { root } = await loadCurrentRoot(keysDir);
  const keys = await roleKeys(keysDir, root, 'rollout');
  const counter = await nextSwitchCounter(keysDir);
  const version = await nextRolloutVersion(keysDir);
  const rollout = signRollout({
    version, issuedMs: o.nowMs, expiresMs: Math.min(o.expiresMs, release.expiresMs), release: releaseRef(envelope.document),
    devices: o.devices, cohorts: o.cohorts, spreadSeconds: 0, channel: o.to,
  }, keys);
  const sw = signDocument(switchSigned(o, counter), keys);
  const notice = noticeBytes(envelope.document, rollout, await rotationChain(keysDir, MAX_NOTICE_ROOTS), sw);
  return { notice, counter, releaseVersion: release.version, rolloutVersion: version };
}
