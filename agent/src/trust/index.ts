/**
 * The device's trust in update metadata: the verifier the agent uses (trusted
 * root on the data partition, root rotation, anti-rollback and time floors,
 * targeting, typed refusals). docs/trust.md has the model.
 */
export { AGENT_BUILD_TIME, AGENT_BUILD_TIME_MS } from './buildtime.js';
export { loadRoot, rotateRoot, type TrustedRoot } from './rotation.js';
export { verifyRole } from './signatures.js';
export { checkChannel, followedChannel, setLocally, switched, type AcceptedSwitch, type ChannelState, type PendingSwitch } from './channel.js';
export { MAX_FAILED_VERSIONS, TRUST_FILES, followedChannelIn, loadTrustState, persistAccepted, recordChannelSet, provisionRoot, recordFailed, recordInstalled, trustedRootExpiry, type DurableWrite, type RootCache } from './store.js';
export { TrustVerifier, type NoticeOptions, type TrustConfig } from './verifier.js';
export { MAX_ISSUED_AHEAD_MS, MAX_ROLLOUT_VERSION_STEP, chooseArtifact, nextTimeFloorMs, roleEpoch, verifyNotice, type Accepted, type DeviceIdentity, type TrustState, type VerifyInput } from './verify.js';
export { describeRefusedNotice } from './refused.js';
