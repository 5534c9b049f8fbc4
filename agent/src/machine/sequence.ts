/**
 * The order of notices. A notice's sequence is its rollout version, which only the rollout keys sign; it
 * orders notices within one set of those keys (an epoch). When the fleet rotates the rollout keys out (after
 * a theft, for one), the verifier restarts the rollout version at 0 (TUF 5.3.11), and so does this order:
 * whatever a stolen key signed, 2^53-1 included, stops holding the device's notices back. Notices signed by
 * keys rotated out never get here: the verifier refuses them. A mark without an epoch (a journal written
 * before epochs) compares with every epoch, as before.
 */

/** A notice's place in the fleet's order. */
export interface SequenceMark {
  readonly sequence: number;
  /** The rollout keys that signed it (the verifier's fingerprint of the role's keys and threshold). */
  readonly epoch?: string | undefined;
}

function sameEpoch(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** The highest sequence among `marks` that orders against a notice of `epoch` (marks of other epochs count as 0). */
export function floorFor(epoch: string | undefined, marks: readonly (SequenceMark | undefined)[]): number {
  let floor = 0;
  for (const m of marks) if (m !== undefined && sameEpoch(m.epoch, epoch)) floor = Math.max(floor, m.sequence);
  return floor;
}

/** What to remember after accepting `next` when `held` was remembered: the higher in one epoch, else `next`. */
export function advance(held: SequenceMark, next: SequenceMark | undefined): SequenceMark {
  if (next === undefined) return held;
  if (!sameEpoch(held.epoch, next.epoch)) return next;
  return { sequence: Math.max(held.sequence, next.sequence), epoch: next.epoch ?? held.epoch };
}
