/**
 * The `machine` section of the agent config: the save limit that ends reboot
 * loops and a deadline per state (a hung step counts as failed). `installing`
 * has no default deadline: a download over a slow link may take hours and the
 * downloader detects stalls itself.
 */
import { Fields } from '../validate/index.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { isState, states } from './table.js';
import type { State } from './table.js';

/** Validated machine settings (MachineOptions takes them as they are). */
export interface MachineConfig {
  readonly maxSaves: number;
  readonly deadlinesMs: Partial<Record<State, number>>;
  /** When a failed download is tried again (retry.ts). */
  readonly retry: RetryPolicy;
}

/** Default deadlines per state. */
export const DEFAULT_DEADLINES_MS: Readonly<Partial<Record<State, number>>> = {
  verifying: 60_000, verifyingSlot: 3_600_000, arming: 60_000, rebooting: 300_000, checking: 600_000,
  committing: 60_000, reverting: 60_000, rebootingBack: 300_000, reporting: 60_000,
};

const MAX = Number.MAX_SAFE_INTEGER;
const WORKING_STATES = states.filter((s) => s !== 'idle');

/**
 * Validate the `machine` section (undefined gives the defaults) into `f`, the agent config's problems.
 * Without `f`, the section stands alone and its problems are thrown together.
 */
export function parseMachineConfig(value: unknown, f?: Fields): MachineConfig {
  if (value === undefined) return { maxSaves: 3, deadlinesMs: { ...DEFAULT_DEADLINES_MS }, retry: DEFAULT_RETRY };
  const fields = f ?? new Fields('machine section', { code: 'CONFIG_INVALID', what: 'agent config' });
  const o = fields.object(value, 'machine', ['maxSaves', 'deadlinesMs', 'retry']);
  // A normal revert saves `reverting` twice.
  const maxSaves = fields.optionalInteger(o['maxSaves'], 'machine.maxSaves', 2, MAX, 3);
  const deadlinesMs: Partial<Record<State, number>> = { ...DEFAULT_DEADLINES_MS };
  const given = o['deadlinesMs'] === undefined ? {} : fields.object(o['deadlinesMs'], 'machine.deadlinesMs', WORKING_STATES);
  for (const [state, ms] of Object.entries(given)) {
    if (!isState(state)) continue; // object() kept only working states
    if (ms === null) delete deadlinesMs[state];
    else deadlinesMs[state] = fields.integer(ms, `machine.deadlinesMs.${state}`, 1, MAX);
  }
  const retry = parseRetry(o['retry'], fields);
  if (f === undefined) fields.finish();
  return { maxSaves, deadlinesMs, retry };
}

function parseRetry(value: unknown, fields: Fields): RetryPolicy {
  if (value === undefined) return DEFAULT_RETRY;
  const r = fields.object(value, 'machine.retry', ['maxRetries', 'firstDelayMs', 'maxDelayMs']);
  const firstDelayMs = fields.optionalInteger(r['firstDelayMs'], 'machine.retry.firstDelayMs', 1, MAX, DEFAULT_RETRY.firstDelayMs);
  return {
    maxRetries: fields.optionalInteger(r['maxRetries'], 'machine.retry.maxRetries', 0, 1000, DEFAULT_RETRY.maxRetries),
    firstDelayMs,
    maxDelayMs: fields.optionalInteger(r['maxDelayMs'], 'machine.retry.maxDelayMs', firstDelayMs, MAX, Math.max(firstDelayMs, DEFAULT_RETRY.maxDelayMs)),
  };
}
