/**
 * The `machine` section of the agent config: the save limit that ends reboot
 * loops and a deadline per state (a hung step counts as failed). `installing`
 * has no default deadline: a download over a slow link may take hours and the
 * downloader detects stalls itself.
 */
import { OtaError } from '../errors/index.js';
import { isState } from './table.js';
import type { State } from './table.js';

/** Validated machine settings (MachineOptions takes them as they are). */
export interface MachineConfig {
  readonly maxSaves: number;
  readonly deadlinesMs: Partial<Record<State, number>>;
}

/** Default deadlines per state. */
export const DEFAULT_DEADLINES_MS: Readonly<Partial<Record<State, number>>> = {
  verifying: 60_000, verifyingSlot: 3_600_000, arming: 60_000, rebooting: 300_000, checking: 600_000,
  committing: 60_000, reverting: 60_000, rebootingBack: 300_000, reporting: 60_000,
};

function bad(field: string, want: string): never {
  throw new OtaError('CONFIG_INVALID', `agent config: machine.${field}: want ${want}: fix the config file`);
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Validate the `machine` section (undefined gives the defaults). */
export function parseMachineConfig(value: unknown): MachineConfig {
  if (value === undefined) return { maxSaves: 3, deadlinesMs: { ...DEFAULT_DEADLINES_MS } };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('', 'an object');
  const rec = Object.fromEntries(Object.entries(value));
  const extra = Object.keys(rec).find((k) => k !== 'maxSaves' && k !== 'deadlinesMs');
  if (extra !== undefined) bad(extra, 'nothing: unknown field (known: maxSaves, deadlinesMs)');
  const maxSaves = rec['maxSaves'] ?? 3;
  if (!positiveInt(maxSaves) || maxSaves < 2) bad('maxSaves', 'an integer >= 2 (a normal revert saves `reverting` twice)');
  const deadlinesMs: Partial<Record<State, number>> = { ...DEFAULT_DEADLINES_MS };
  const given = rec['deadlinesMs'] ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) bad('deadlinesMs', 'an object of state -> milliseconds');
  for (const [state, ms] of Object.entries(given)) {
    if (!isState(state) || state === 'idle') bad(`deadlinesMs.${state}`, 'a working state name');
    if (ms === null) delete deadlinesMs[state];
    else if (positiveInt(ms)) deadlinesMs[state] = ms;
    else bad(`deadlinesMs.${state}`, 'a positive integer, or null for no deadline');
  }
  return { maxSaves, deadlinesMs };
}
