/**
 * The agent wired together: the device from the agent config, MachinePorts on
 * BootControl + trust verifier + slots + artifact source + delta decoder +
 * health, the post-boot step, status and the daemon (the commands are in agent/src/cli).
 */
export { lockDevice } from './lock.js';
export type { Unlock } from './lock.js';
export { openDevice, slotDigest } from './device.js';
export type { Device, Opened } from './device.js';
export { agentPorts, releaseOf } from './ports.js';
export type { PortOptions } from './ports.js';
export { Session, journalRecord } from './session.js';
export { PayloadStore, choosePayload, payloadFor } from './payload.js';
export type { PayloadChoice, PayloadInput, PayloadKind, PayloadReason, PayloadRecord, ReadBase } from './payload.js';
export type { RebootMode, SessionOptions } from './session.js';
export { deviceStatus, formatStatus, operatorVerdict, postBoot, refreshBooted, rollback } from './lifecycle.js';
export type { DeviceStatus, SlotStatus } from './lifecycle.js';
export { runDaemon, statusFields, type AgentFacts } from './run.js';
export type { DaemonContext } from './run.js';
export { ROOT_EXPIRY_WARN_MS, doctor, etcOverlayCheck, rootSource } from './doctor.js';
export type { DoctorCheck, DoctorDeps } from './doctor.js';
export { fleetProbeFor, retryingProbe, OFFLINE_FLEET_DETAIL, ROUND_TRIP_ATTEMPT_MS } from './fleet.js';
