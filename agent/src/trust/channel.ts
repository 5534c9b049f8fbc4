/**
 * The device's release channel in its trust state: which channel it follows, the anti-rollback floor
 * of each channel it left, and the signed switches it accepted. Pure: `checkChannel` decides on the
 * channel part of a notice (throws a Refusal), `switched` and `setLocally` give the next state.
 * docs/trust.md, "Release channels", has the model and the threat analysis.
 */
import { createHash } from 'node:crypto';
import {
  DEFAULT_CHANNEL, Refusal, readChannelSwitch,
  type ChannelSwitch, type Envelope, type ReleaseMetadata, type RolloutMetadata, type RootMetadata,
} from '../formats/index.js';
import { verifyRole } from './signatures.js';

/** A signed switch accepted and not yet done: its release may install even though the floor is at it. */
export interface PendingSwitch {
  readonly channel: string;
  readonly version: number;
  readonly counter: number;
  /** sha256 of the switch's canonical `signed` part: the same switch resumed after a power cut is not a replay. */
  readonly sha256: string;
}

/** What the trust state keeps about channels (every member optional: a state.json from before channels has none). */
export interface ChannelState {
  /** The channel followed; absent: the provisioned one (config `channel`, default `stable`). */
  readonly channel?: string;
  /** The anti-rollback floors of the channels left (the followed one's is `installedVersion`). */
  readonly channelFloors?: Readonly<Record<string, number>>;
  /** The highest switch counter accepted: a switch at or below it is a replay. */
  readonly switchCounter?: number;
  readonly pendingSwitch?: PendingSwitch;
}

/** A switch a notice carries out, once checked. */
export interface AcceptedSwitch {
  readonly to: string;
  readonly counter: number;
  readonly sha256: string;
  readonly version: number;
}

/** Who the device is, for a switch's audience. */
export interface SwitchTarget {
  readonly deviceId?: string;
  readonly cohort?: string;
}

/** The inputs of the channel check of one notice. */
export interface ChannelCheck {
  readonly followed: string;
  readonly state: ChannelState;
  readonly root: RootMetadata;
  readonly release: ReleaseMetadata;
  readonly rollout: RolloutMetadata;
  readonly switchEnvelope: Envelope | undefined;
  readonly device: SwitchTarget;
  /** The time floor (max of clock, build time, latest signed time), epoch ms. */
  readonly floorMs: number;
}

/**
 * Refuse a notice whose channel is not the one followed (`mix-and-match`) unless it carries a valid
 * switch to that channel. Runs before the expiry checks, so a switch to a channel whose release or
 * rollout expired is named `retired-channel`. Returns the accepted switch, if any.
 */
export function checkChannel(c: ChannelCheck): AcceptedSwitch | undefined {
  const { release, rollout } = c;
  if (!release.channels.includes(rollout.channel)) {
    const reason = c.switchEnvelope === undefined ? 'mix-and-match' : 'unknown-channel';
    throw new Refusal(reason, `rollout ${rollout.version} puts release ${release.version} on channel ${rollout.channel}, and the release is signed for ${release.channels.join(', ')} only`);
  }
  if (c.switchEnvelope === undefined) {
    if (rollout.channel !== c.followed) {
      throw new Refusal('mix-and-match', `rollout ${rollout.version} is for channel ${rollout.channel}, and this device follows ${c.followed} (a switch needs a signed channel switch, or ota-agent channel set)`);
    }
    return undefined;
  }
  verifyRole(c.switchEnvelope, c.root, 'rollout', 'notice.switch');
  const sw = readChannelSwitch(c.switchEnvelope, 'notice.switch');
  const sha256 = createHash('sha256').update(c.switchEnvelope.signedBytes).digest('hex');
  switchValid(sw, sha256, c);
  return { to: sw.to, counter: sw.counter, sha256, version: release.version };
}

function switchValid(sw: ChannelSwitch, sha256: string, c: ChannelCheck): void {
  const at = (ms: number): string => new Date(ms).toISOString();
  if (sw.expiresMs <= c.floorMs) throw new Refusal('expired', `channel switch ${sw.counter} expired at ${at(sw.expiresMs)} (time floor ${at(c.floorMs)})`);
  const named = (c.device.deviceId !== undefined && sw.devices.includes(c.device.deviceId)) || (c.device.cohort !== undefined && sw.cohorts.includes(c.device.cohort));
  if (!named) throw new Refusal('wrong-device', `channel switch ${sw.counter} does not name device ${c.device.deviceId ?? '(no id)'} or cohort ${c.device.cohort ?? '(none)'}`);
  const last = c.state.switchCounter ?? 0;
  const resumed = c.state.pendingSwitch?.counter === sw.counter && c.state.pendingSwitch.sha256 === sha256;
  if (sw.counter <= last && !resumed) {
    throw new Refusal('replay', `channel switch ${sw.counter} is not above switch ${last} already accepted here (a replayed switch)`);
  }
  if (sw.to !== c.rollout.channel) {
    throw new Refusal('mix-and-match', `channel switch ${sw.counter} is to channel ${sw.to}, and the rollout it came with is for ${c.rollout.channel}`);
  }
  const stale = [[`release ${c.release.version}`, c.release.expiresMs], [`rollout ${c.rollout.version}`, c.rollout.expiresMs]] as const;
  for (const [what, expiresMs] of stale) {
    if (expiresMs <= c.floorMs) throw new Refusal('retired-channel', `channel switch to ${sw.to}: its ${what} expired at ${at(expiresMs)}: the vendor no longer publishes this channel`);
  }
}

/** The channel followed in `state`, or `provisioned` when no switch or local set ever changed it. */
export function followedChannel(state: ChannelState, provisioned: string | undefined): string {
  return state.channel ?? provisioned ?? DEFAULT_CHANNEL;
}

/** A trust state's channel part and its floor, as `switched` and `setLocally` change them. */
export interface Floors extends ChannelState {
  readonly installedVersion: number;
}

/**
 * After accepting a switch: follow its channel, keep the left channel's floor, and put the new
 * channel's floor at the switch's release (lower than before, maybe: the switch authorises exactly that).
 */
export function switched(state: Floors, followed: string, sw: AcceptedSwitch): Floors {
  const floors = { ...(state.channelFloors ?? {}) };
  if (sw.to !== followed) floors[followed] = Math.max(floors[followed] ?? 0, state.installedVersion);
  delete floors[sw.to];
  return {
    ...state, channel: sw.to, channelFloors: floors, installedVersion: sw.version,
    switchCounter: Math.max(state.switchCounter ?? 0, sw.counter),
    pendingSwitch: { channel: sw.to, version: sw.version, counter: sw.counter, sha256: sw.sha256 },
  };
}

/**
 * `ota-agent channel set`: follow `to` with a floor never below the version installed now, so a local
 * set follows another vendor-signed stream forward but never installs anything older (that takes a signed switch).
 */
export function setLocally(state: Floors, followed: string, to: string): Floors {
  if (to === followed) return state;
  const floors = { ...(state.channelFloors ?? {}) };
  floors[followed] = Math.max(floors[followed] ?? 0, state.installedVersion);
  const floor = Math.max(floors[to] ?? 0, state.installedVersion);
  delete floors[to];
  const { pendingSwitch: _dropped, ...rest } = state;
  return { ...rest, channel: to, channelFloors: floors, installedVersion: floor };
}

/** True when `version` is the release of the pending switch (it installs although the floor is at it). */
export function isPendingSwitch(state: ChannelState, followed: string, version: number): boolean {
  return state.pendingSwitch?.channel === followed && state.pendingSwitch.version === version;
}
