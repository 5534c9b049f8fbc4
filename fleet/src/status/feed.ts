/**
 * The registry's ingest from the broker: every status document a board accepts is written into the
 * registry, in the order it came, with the fleet's time of receipt. The registry itself decides what is
 * stale or a duplicate (boot id + sequence), so feeding it twice, or from two processes, is harmless.
 */
import { describe } from '../../../agent/src/errors/index.js';
import type { IngestOutcome, Registry } from '../registry/index.js';
import type { StatusBoard } from './board.js';
import { documentOf } from './inventory.js';

/** A board feeding a registry. */
export interface RegistryFeed {
  /** Documents written so far, by what the registry did with them. */
  readonly counts: Readonly<Record<IngestOutcome, number>>;
  /** Resolves once every document seen so far is written. */
  flush(): Promise<void>;
  /** Stop feeding (pending writes finish). */
  stop(): Promise<void>;
}

/** Feed `registry` from `board`: its current reports now, every accepted change later. Write errors go to `log`. */
export function feedRegistry(board: StatusBoard, registry: Registry, nowMs: () => number, log: (line: string) => void): RegistryFeed {
  const counts: Record<IngestOutcome, number> = { added: 0, updated: 0, duplicate: 0, stale: 0, removed: 0 };
  let tail: Promise<void> = Promise.resolve();
  const write = (id: string): void => {
    const r = board.reports.get(id);
    if (r === undefined) return;
    const doc = documentOf(r, nowMs());
    tail = tail.then(async () => { counts[await registry.ingest(doc)]++; })
      .catch((err: unknown) => log(`registry ${registry.describe}: status of ${id} not written: ${describe(err)}`));
  };
  for (const id of board.reports.keys()) write(id);
  board.on('change', write);
  return {
    counts,
    flush: () => tail,
    stop: async () => { board.off('change', write); await tail; },
  };
}
