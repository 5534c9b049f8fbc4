/**
 * The registry's ingest from the broker: every status document a board accepts is written into the
 * registry with the fleet's time of receipt, in batches: the latest document of each device that changed,
 * in one transaction, at most every `batchMs` (and whenever `flush` is called). One transaction per batch
 * keeps the store's work per broker burst small (a stage reaching 5,000 devices is thousands of documents
 * in seconds). The registry itself decides what is stale or a duplicate (boot id + sequence), so feeding
 * it twice, or from two processes, is harmless.
 */
import { describe } from '../../../agent/src/errors/index.js';
import type { DeviceDocument, IngestOutcome, Registry } from '../registry/index.js';
import type { StatusBoard } from './board.js';
import { documentOf } from './inventory.js';

/** A board feeding a registry. */
export interface RegistryFeed {
  /** Documents written so far, by what the registry did with them. */
  readonly counts: Readonly<Record<IngestOutcome, number>>;
  /** Write what is pending now; resolves once every document seen so far is written. */
  flush(): Promise<void>;
  /** Stop feeding (what is pending is written). */
  stop(): Promise<void>;
}

/** Feed `registry` from `board`: its current reports now, every accepted change later. Write errors go to `log`. */
export function feedRegistry(board: StatusBoard, registry: Registry, nowMs: () => number, log: (line: string) => void, batchMs = 200): RegistryFeed {
  const counts: Record<IngestOutcome, number> = { added: 0, updated: 0, duplicate: 0, stale: 0, removed: 0 };
  const pending = new Map<string, DeviceDocument>();
  let timer: NodeJS.Timeout | undefined;
  let tail: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const docs = [...pending.values()];
    pending.clear();
    tail = tail.then(async () => { for (const o of await registry.ingestMany(docs)) counts[o]++; })
      .catch((err: unknown) => log(`registry ${registry.describe}: ${docs.length} status documents not written: ${describe(err)}`));
    return tail;
  };
  const note = (id: string): void => {
    const r = board.reports.get(id);
    if (r === undefined) return;
    pending.set(id, documentOf(r, nowMs()));
    timer ??= setTimeout(() => void flush(), batchMs);
  };
  for (const id of board.reports.keys()) note(id);
  board.on('change', note);
  return {
    counts, flush,
    stop: async () => { board.off('change', note); await flush(); },
  };
}
