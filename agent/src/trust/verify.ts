/**
 * The decision on one notice: pure (no I/O), from the notice bytes, the
 * device's trust state and identity, and the clock. Returns what to install or
 * throws a Refusal whose reason names the attack. The checks run in the order
 * docs/trust.md lists them.
 */
import { createHash } from 'node:crypto';
import {
  Refusal, audienceIncludes, deltaFor, readNotice, readRelease, readRollout,
  type Artifact, type DeltaArtifact, type ImageDigest, type ReleaseMetadata, type RoleName, type RolloutMetadata, type RootMetadata,
} from '../formats/index.js';
import { checkChannel, followedChannel, isPendingSwitch, type AcceptedSwitch, type ChannelState } from './channel.js';
import { rotateRoot, type TrustedRoot } from './rotation.js';
import { verifyRole } from './signatures.js';

/** Who the device is, for targeting. */
export interface DeviceIdentity {
  readonly hardwareId: string;
  readonly deviceId?: string;
  readonly cohort?: string;
  /** The provisioned release channel (config `channel`; `stable` when absent); the trust state's own wins once set. */
  readonly channel?: string;
}

/** What the device remembers between notices (persisted on the data partition). */
export interface TrustState extends ChannelState {
  readonly trusted: TrustedRoot;
  /** Highest version installed and committed on the followed channel (or put there by a signed switch): its anti-rollback floor. */
  readonly installedVersion: number;
  /** Highest rollout version accepted: an older notice after a newer one is a rollback. */
  readonly rolloutVersion: number;
  /** Latest signed time seen (a rollout's `issued`), epoch ms. */
  readonly timeFloorMs: number;
  /** Versions that failed their health check here: not retried. */
  readonly failedVersions: readonly number[];
}

/** Inputs to one decision. */
export interface VerifyInput {
  readonly notice: Uint8Array;
  readonly state: TrustState;
  readonly device: DeviceIdentity;
  /** The device clock and the agent's build time, epoch ms. */
  readonly nowMs: number;
  readonly buildTimeMs: number;
  /** What the active slot holds, when known: picks a delta for that base. */
  readonly current?: ImageDigest;
  /** An artifact the caller means to install (its path); must fit this release and `current`. */
  readonly artifactPath?: string;
}

/** An accepted notice: what to install, and what to remember. */
export interface Accepted {
  readonly trusted: TrustedRoot;
  readonly rotated: boolean;
  readonly release: ReleaseMetadata;
  readonly rollout: RolloutMetadata;
  /** The artifact to download: a delta for `current`, else the full image. */
  readonly artifact: Artifact | DeltaArtifact;
  /** The time floor to persist (see nextTimeFloorMs). */
  readonly timeFloorMs: number;
  /** The rollout version to persist: the accepted one (the old one is forgotten when the rollout keys rotated). */
  readonly rolloutVersion: number;
  /** Which rollout keys signed it (`roleEpoch` of the trusted root): rollout versions order notices within one epoch. */
  readonly rolloutEpoch: string;
  /** The channel the notice is for (the one the device follows once it is accepted). */
  readonly channel: string;
  /** The signed channel switch the notice carries out, when it carries one. */
  readonly switch?: AcceptedSwitch;
}

/** Decide on a notice; throws a Refusal (nothing is written either way). */
export function verifyNotice(input: VerifyInput): Accepted {
  const { state, device } = input;
  const notice = readNotice(input.notice);
  const trusted = rotateRoot(state.trusted, notice.roots, 'notice');
  const root = trusted.root;
  // Shapes first (a bad field is `malformed` whoever signed it), then signatures.
  const release = readRelease(notice.release, 'notice.release');
  const rollout = readRollout(notice.rollout, 'notice.rollout');
  verifyRole(notice.release, root, 'release', 'notice.release');
  verifyRole(notice.rollout, root, 'rollout', 'notice.rollout');

  const floorMs = Math.max(input.nowMs, input.buildTimeMs, state.timeFloorMs);
  expiry(`root v${root.version}`, root.expiresMs, floorMs);
  const followed = followedChannel(state, device.channel);
  const sw = checkChannel({ followed, state, root, release, rollout, switchEnvelope: notice.switch, device, floorMs });
  expiry(`release ${release.version}`, release.expiresMs, floorMs);
  expiry(`rollout ${rollout.version}`, rollout.expiresMs, floorMs);

  const rolloutFloor = rolloutFloorUnder(state, root);
  if (rollout.version < rolloutFloor) {
    throw new Refusal('rollback', `notice: rollout ${rollout.version} is older than rollout ${rolloutFloor} already accepted (a replayed notice)`);
  }
  if (rolloutFloor > 0 && rollout.version - rolloutFloor > MAX_ROLLOUT_VERSION_STEP) {
    throw new Refusal('version-jump', `notice: rollout ${rollout.version} is more than ${MAX_ROLLOUT_VERSION_STEP} above rollout ${rolloutFloor} already accepted (a stolen rollout key fast-forwarding?); rotate the rollout key (ota-fleet root rotate --rotate rollout)`);
  }
  const releaseSha256 = createHash('sha256').update(notice.release.signedBytes).digest('hex');
  if (rollout.release.version !== release.version || rollout.release.sha256 !== releaseSha256) {
    throw new Refusal('mix-and-match', `notice: rollout ${rollout.version} names release ${rollout.release.version} (${rollout.release.sha256.slice(0, 12)}), not the release ${release.version} (${releaseSha256.slice(0, 12)}) it came with`);
  }
  targeting(release, rollout, device);
  installable(release, state, sw !== undefined || isPendingSwitch(state, followed, release.version));
  const artifact = chooseArtifact(release, input.current, input.artifactPath);
  const timeFloorMs = nextTimeFloorMs(state.timeFloorMs, rollout.issuedMs, Math.max(input.nowMs, input.buildTimeMs));
  return { trusted, rotated: trusted !== state.trusted, release, rollout, artifact, timeFloorMs,
    rolloutVersion: Math.max(rolloutFloor, rollout.version), rolloutEpoch: roleEpoch(trusted.root, 'rollout'),
    channel: rollout.channel, ...(sw === undefined ? {} : { switch: sw }) };
}

/**
 * Most a rollout version may rise above the one accepted before (fleets count
 * rollouts one by one: a million is decades of stage changes and re-signings).
 * A stolen rollout key can then raise the floor only step by step, one accepted
 * notice each, never to 2^53-1 at once.
 */
export const MAX_ROLLOUT_VERSION_STEP = 1_000_000;

/**
 * The rollout version a notice must reach under `root`: the one accepted
 * before, or 0 when `root` gives the rollout role other keys (or threshold)
 * than the trusted root did. TUF 5.3.11 deletes the trusted timestamp when its
 * keys rotate: whatever a stolen rollout key signed (a version of 2^53-1
 * included) stops counting once the fleet rotates that key out.
 */
function rolloutFloorUnder(state: TrustState, root: RootMetadata): number {
  return sameRoleKeys(state.trusted.root, root, 'rollout') ? state.rolloutVersion : 0;
}

function sameRoleKeys(a: RootMetadata, b: RootMetadata, role: RoleName): boolean {
  return roleEpoch(a, role) === roleEpoch(b, role);
}

/** A fingerprint of `role`'s threshold and key material in `root`: it changes exactly when those keys rotate. */
export function roleEpoch(root: RootMetadata, role: RoleName): string {
  const material = root.roles[role].keyids.map((id) => Buffer.from(root.keys.get(id)?.publicKey ?? []).toString('hex')).sort();
  return createHash('sha256').update(`${root.roles[role].threshold}:${material.join(',')}`).digest('hex').slice(0, 16);
}

/** How far past max(clock, build time) a rollout's `issued` may raise the time floor. */
export const MAX_ISSUED_AHEAD_MS = 86_400_000;

/**
 * The time floor after accepting a rollout issued at `issuedMs`: raised to it,
 * but never past a day after max(clock, build time) (`clockMs`), so a stolen
 * rollout key signing `issued: 9999-...` (once or step by step) cannot expire
 * every future document. With a clock reset to 1970 the floor just holds.
 */
export function nextTimeFloorMs(previousMs: number, issuedMs: number, clockMs: number): number {
  return Math.max(previousMs, Math.min(issuedMs, clockMs + MAX_ISSUED_AHEAD_MS));
}

function expiry(what: string, expiresMs: number, floorMs: number): void {
  if (expiresMs <= floorMs) {
    throw new Refusal('expired', `${what} expired at ${new Date(expiresMs).toISOString()} (time floor ${new Date(floorMs).toISOString()}: max of clock, agent build time, latest signed time)`);
  }
}

function targeting(release: ReleaseMetadata, rollout: RolloutMetadata, device: DeviceIdentity): void {
  if (!release.hardware.includes(device.hardwareId)) {
    throw new Refusal('wrong-hardware', `release ${release.version} is for hardware ${release.hardware.join(', ')}, not ${device.hardwareId}`);
  }
  if (!audienceIncludes(rollout.audience, device.deviceId, device.cohort)) {
    const stage = rollout.audience.stage;
    const staged = stage === undefined ? '' : `, nor is it among the first ${stage.ppm} ppm of rollout ${stage.rollout}`;
    throw new Refusal('wrong-device', `rollout ${rollout.version} does not target device ${device.deviceId ?? '(no id)'} or cohort ${device.cohort ?? '(none)'}${staged}`);
  }
}

/** `switching`: a signed switch (now, or accepted and not yet done) authorises this release below the floor. */
function installable(release: ReleaseMetadata, state: TrustState, switching: boolean): void {
  if (switching) {
    if (state.failedVersions.includes(release.version)) {
      throw new Refusal('failed-before', `release ${release.version} already failed its health check on this device: not retried`);
    }
    return;
  }
  if (release.version < state.installedVersion) {
    throw new Refusal('rollback', `release ${release.version} is older than installed version ${state.installedVersion}`);
  }
  if (release.version === state.installedVersion) {
    throw new Refusal('already-installed', `release ${release.version} is the installed version: nothing to do`);
  }
  if (state.failedVersions.includes(release.version)) {
    throw new Refusal('failed-before', `release ${release.version} already failed its health check on this device: not retried`);
  }
}

/** The artifact to install: `path` when given (it must fit `current`), else a delta for `current`, else the full image. */
export function chooseArtifact(release: ReleaseMetadata, current: ImageDigest | undefined, path?: string): Artifact | DeltaArtifact {
  if (path === undefined) return (current === undefined ? undefined : deltaFor(release, current)) ?? release.image;
  if (path === release.image.path) return release.image;
  const delta = release.deltas.find((d) => d.path === path);
  if (delta === undefined) throw new Refusal('mix-and-match', `release ${release.version} lists no artifact ${path}`);
  if (current === undefined || delta.base.sha256 !== current.sha256 || delta.base.sizeBytes !== current.sizeBytes) {
    throw new Refusal('mix-and-match', `delta ${path} of release ${release.version} applies to base ${delta.base.sha256.slice(0, 12)}, not to this slot (${current === undefined ? 'unknown' : current.sha256.slice(0, 12)})`);
  }
  return delta;
}
