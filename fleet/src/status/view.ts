/**
 * The fleet as the operator's tools see it, checked: subscribe (QoS 0, board.ts says why), let the
 * retained documents arrive, ask again by exact topic for every device of the roster that did not
 * come, note what came in the roster, and say what is still missing. `ota-fleet status` prints the
 * check; the rollout controller refuses to plan on an incomplete view unless forced.
 */
import type { MqttClient } from 'mqtt';
import { StatusBoard } from './board.js';
import { checkView, loadRoster, noteReports, saveRoster, type Roster, type ViewCheck } from './roster.js';

/** How to take a view. */
export interface ViewOptions {
  /** The roster file (read, then written with the devices seen). */
  readonly rosterFile: string;
  /** Quiet time that ends the retained documents of the first subscription. */
  readonly settleMs: number;
  /** Count only the roster's devices of these hardware ids (a rollout's); all when absent. */
  readonly hardware?: readonly string[];
}

/** A view: the board (kept subscribed), the roster as saved, and how complete the view is. */
export interface FleetView {
  readonly board: StatusBoard;
  readonly roster: Roster;
  readonly check: ViewCheck;
}

/** Take a view of the fleet on `client`. */
export async function observeFleet(client: MqttClient, o: ViewOptions): Promise<FleetView> {
  const roster = await loadRoster(o.rosterFile);
  const board = await StatusBoard.attach(client);
  await board.settled(o.settleMs);
  await board.fetchMissing(Object.keys(roster));
  const seen = { has: (id: string): boolean => board.reports.has(id) || board.problems.has(id) };
  const check = checkView(roster, seen, o.hardware);
  return { board, roster: await noteRoster(o.rosterFile, roster, board), check };
}

/** Note the board's reports in the roster, saving it when a device was added or changed hardware. */
export async function noteRoster(file: string, roster: Roster, board: StatusBoard): Promise<Roster> {
  const next = noteReports(roster, board.reports.values());
  if (next !== roster) await saveRoster(file, next);
  return next;
}

/** The view's one-line summary (`5000 of 5000 known devices seen`), for the status table and logs. */
export function describeCheck(check: ViewCheck): string {
  if (check.expected === 0) return 'no device known before this view';
  return `${check.seen} of ${check.expected} known device${check.expected === 1 ? '' : 's'} seen`;
}
