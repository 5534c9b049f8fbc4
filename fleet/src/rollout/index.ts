/**
 * Staged rollouts: the pure planner (cohorts by a stable hash, stage gates,
 * automatic halt), the facts it plans from, the controller that executes its
 * plans and keeps its state.
 */
export * from './plan.js';
export { deviceFact, deviceFacts, eligible, failureReason, noteAttempts, trackStage, type DeviceTrack, type Target, type Tracking } from './facts.js';
export {
  claimLock, liveController, loadState, requestControl, saveState, stateFiles, takeControl, type ControlAction, type ControllerState,
} from './state.js';
export { applyControl, controlRefusal } from './control.js';
export { isFinal, planStep, realPorts, reconcile, runController, step, targetOf, type RunOptions, type StepPorts } from './controller.js';
export { createRollout, newRolloutId, releaseFacts, type StartOptions } from './start.js';
export { archiveRollout, findRollout, historyDir, listRollouts, startedMs } from './history.js';
export { audienceOnWire, describeAudience, wireAudience, wireKey, type WireAudience } from './audience.js';
export { RolloutRecorder, eventsBetween } from './record.js';
