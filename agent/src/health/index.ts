/**
 * Health checks after a trial boot: declared checks (`required` or `wanted`) plus
 * the built-in required fleet round-trip, under one deadline.
 */
export { parseHealthConfig, DEFAULT_DEADLINE_MS, FLEET_CHECK } from './config.js';
export type { HealthCheck, HealthConfig, Level } from './config.js';
export { runHealth } from './run.js';
export type { CheckOutcome, HealthResult, HealthDeps, HealthTimers } from './run.js';
export { spawnCommand } from './probes.js';
export type { CommandRunner, CommandResult, FleetProbe } from './probes.js';
