/**
 * Who the signed rollout document names (pure). Without a group: the staged cohort (every device whose
 * place is below the stage's ppm), plus the named canaries by id. With a group: the devices are listed by
 * id, the group's members whose place is below the ppm and the canaries, and the staged cohort is empty
 * (`ppm` 0), so a device outside the group is never named, whatever its place. After a halt or an abort
 * the document names nobody.
 */
import { createHash } from 'node:crypto';
import { cohortPpm } from '../../../agent/src/formats/index.js';
import type { ControllerState } from './state.js';

/** The audience of a rollout document: devices by id, and the staged cohort's ppm. */
export interface WireAudience {
  readonly devices: readonly string[];
  readonly stagePpm: number;
}

/** The audience the state wants on the wire. */
export function wireAudience(s: ControllerState): WireAudience {
  const st = s.rollout.status;
  if (st === 'halted' || st === 'aborted') return { devices: [], stagePpm: 0 };
  const canaries = s.policy.canaries ?? [];
  if (s.members === undefined) return { devices: [...canaries].sort(), stagePpm: s.targetPpm };
  const id = s.rollout.rolloutId;
  const sampled = s.members.filter((d) => cohortPpm(id, d) < s.targetPpm);
  return { devices: [...new Set([...canaries, ...sampled])].sort(), stagePpm: 0 };
}

/** A short key of an audience: published with the document, compared to know whether to publish again. */
export function wireKey(a: WireAudience): string {
  const digest = createHash('sha256').update(a.devices.join('\n')).digest('hex').slice(0, 16);
  return `${a.stagePpm}:${a.devices.length}:${digest}`;
}

/** True when what was published names who the state wants (older state files: the same ppm). */
export function audienceOnWire(s: ControllerState): boolean {
  const p = s.published;
  if (p === null) return false;
  if (p.audience === undefined) return p.ppm === s.targetPpm;
  return p.audience === wireKey(wireAudience(s));
}

/** What a published document names, for the log: `500000 ppm`, `0 ppm: halt`, or `1 device named (+ 0 ppm)`. */
export function describeAudience(s: ControllerState): string {
  const a = wireAudience(s);
  const halt = s.rollout.status === 'halted' || s.rollout.status === 'aborted';
  if (a.devices.length === 0) return `${a.stagePpm} ppm${halt || a.stagePpm === 0 ? ': halt' : ''}`;
  return `${a.devices.length} device${a.devices.length === 1 ? '' : 's'} named${a.stagePpm > 0 ? ` + ${a.stagePpm} ppm` : ''}`;
}
