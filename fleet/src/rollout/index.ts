/**
 * Staged rollouts: cohorts by a stable hash, stage gates, automatic halt.
 */
export * from './plan.js';
