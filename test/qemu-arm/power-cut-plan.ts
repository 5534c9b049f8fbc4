/**
 * The cut plan of scenario 4 (power-cut.ts): which phases a seed cuts, at which trigger and delay,
 * and whether a trigger can still come in a boot that resumes the update at a given journal state.
 */
import type { JournalRecord } from '../../agent/src/machine/index.js';
import { intBetween, mulberry32, pick } from '../support/prng.js';

/** The phases a cut is aimed at (`random`: a delay from power-on, whatever runs then). */
export type Phase = 'download' | 'slot write' | 'env write' | 'commit' | 'random';
/** The phases every run must cut in. */
export const PHASES: readonly Phase[] = ['download', 'slot write', 'env write', 'commit'];

/** One planned cut: what it waits for in the serial events, then how long after it. */
export interface Cut { phase: Phase; trigger: string; delayMs: number }

/** The seed of this run: OTA_QEMU_SEED replays one; printed either way. */
export function runSeed(): number {
  const fixed = process.env['OTA_QEMU_SEED'];
  const seed = fixed === undefined || fixed === '' ? Math.floor(Math.random() * 2 ** 31) : Number(fixed);
  if (!Number.isInteger(seed)) throw new Error(`OTA_QEMU_SEED=${String(fixed)} is not an integer`);
  return seed;
}

// Delay ranges (ms) within each phase's typical length on the 2-core CI machine (the table prints
// what each cut met). A trigger is an agent step into a state (or, when the boot resumes that state
// from the journal, the agent's start), U-Boot starting the boot script, or the trial slot's init.
const TRIGGERS: Readonly<Record<Exclude<Phase, 'random'>, readonly { trigger: string; maxDelayMs: number }[]>> = {
  download: [{ trigger: 'download', maxDelayMs: 1_500 }, { trigger: 'download', maxDelayMs: 3_000 }],
  'slot write': [{ trigger: 'verifyingSlot', maxDelayMs: 1_200 }, { trigger: 'verifyingSlot', maxDelayMs: 1_200 }],
  'env write': [{ trigger: 'arming', maxDelayMs: 150 }, { trigger: 'uboot-save', maxDelayMs: 250 }],
  commit: [{ trigger: 'trial-init', maxDelayMs: 6_000 }, { trigger: 'committing', maxDelayMs: 300 }],
};

/** Where an update stands, in the order it meets the triggers ('before': no update yet, 'after': done). */
export const PROGRESS = ['before', 'verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting', 'checking', 'committing', 'reporting', 'after'];

/** The journal's state as a point in PROGRESS. */
export function progressOf(record: JournalRecord | null): string {
  if (record === null || record.state === 'idle') return record?.last === undefined ? 'before' : 'after';
  return PROGRESS.includes(record.state) ? record.state : 'after';
}

/**
 * Whether `trigger` can still come in a boot that resumes at `resumed`, and how: 'step' (an
 * agent line), 'start' (the state resumes silently: the agent's start-up), 'always', 'later'
 * (not in this boot: run it uncut), or 'never'.
 */
export function triggerIn(trigger: string, resumed: string): 'step' | 'start' | 'always' | 'later' | 'never' {
  if (trigger === 'uboot-save' || trigger === 'power-on') return 'always';
  const now = PROGRESS.indexOf(resumed);
  if (trigger === 'trial-init') {
    if (resumed === 'rebooting' || resumed === 'checking') return 'always';
    // the update has not armed its trial yet: a later boot is the trial boot
    return now < PROGRESS.indexOf('rebooting') ? 'later' : 'never';
  }
  const at = PROGRESS.indexOf(trigger);
  // the download: the first artifact byte this boot, in an install that starts or resumes
  if (trigger === 'download') return now <= PROGRESS.indexOf('installing') ? 'step' : 'never';
  // the install prints `installing release ...` whether it starts or resumes
  if (now < at || (trigger === 'installing' && now === at)) return 'step';
  return now === at ? 'start' : 'never';
}

/**
 * The cut plan of one board: `cuts` cuts (at least 9) in the order the update meets its phases:
 * two in the download, two in the slot write, three env writes (the agent arming, U-Boot's save,
 * one of either), two in the trial boot, and the rest at random moments of a boot. At most two cuts
 * are aimed at one agent state, well under the loop guard of the device (which gives an update up,
 * on purpose, after machine.maxSaves restarts of a state without progress), and each cut of the
 * trial boot spends one of its tries.
 */
export function cutPlan(seed: number, cuts: number): Cut[] {
  if (cuts < 9) throw new Error(`a power-cut plan needs at least 9 cuts, not ${cuts}`);
  const rng = mulberry32(seed);
  const at = (phase: Exclude<Phase, 'random'>, i: number): Cut => {
    const t = TRIGGERS[phase][i];
    if (t === undefined) throw new Error(`no trigger ${i} for ${phase}`);
    return { phase, trigger: t.trigger, delayMs: intBetween(rng, 0, t.maxDelayMs) };
  };
  const ordered: Cut[] = [
    at('download', 0), at('download', 1), at('slot write', 0), at('slot write', 1),
    at('env write', 0), at('env write', 1), at('env write', pick(rng, [0, 1])),
    at('commit', 0), at('commit', 1),
  ];
  // U-Boot's save cut twice in a row: the second one follows the agent's arming instead
  const [e1, e2, e3] = ordered.slice(4, 7);
  if (e1 !== undefined && e2 !== undefined && e3?.trigger === e2.trigger) ordered.splice(4, 2, e2, e1);
  for (let i = 9; i < cuts; i += 1) {
    // from power-on: U-Boot, the kernel, init, the agent's start-up
    ordered.splice(intBetween(rng, 1, ordered.length), 0, { phase: 'random', trigger: 'power-on', delayMs: intBetween(rng, 300, 5_000) });
  }
  return ordered;
}
