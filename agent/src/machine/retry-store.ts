/**
 * The retry of a failed notice, kept across agent restarts (`<dataDir>/retry.json`, beside the
 * journal): which notice (sequence and epoch) and how many retries it has had. Without it a
 * restart would forget the count, and the policy's bound (retry.ts) would hold only per run.
 * A missing or unreadable file is no mark: the worst that does is one retry counted from zero.
 */
import { readFileIfExists, writeFileAtomic } from '../durable/index.js';
import { promises as fsp } from 'node:fs';

/** The retry a notice had. */
export interface RetryMark {
  readonly sequence: number;
  readonly epoch?: string;
  /** Retries scheduled so far (the policy's count, from 1). */
  readonly retries: number;
}

/** Where the inbox keeps its mark. */
export interface RetryStore {
  load(): Promise<RetryMark | undefined>;
  /** Save `mark`, or remove it (undefined). */
  save(mark: RetryMark | undefined): Promise<void>;
}

/** The file store (written atomically: temp, fsync, rename, fsync dir). */
export class FileRetryStore implements RetryStore {
  /** @param file e.g. `<dataDir>/retry.json`. */
  constructor(private readonly file: string) {}

  async load(): Promise<RetryMark | undefined> {
    const bytes = await readFileIfExists(this.file);
    if (bytes === undefined) return undefined;
    try {
      return readMark(JSON.parse(Buffer.from(bytes).toString('utf8')));
    } catch {
      return undefined;
    }
  }

  async save(mark: RetryMark | undefined): Promise<void> {
    if (mark === undefined) await fsp.rm(this.file, { force: true });
    else await writeFileAtomic(this.file, `${JSON.stringify(mark)}\n`);
  }
}

function readMark(v: unknown): RetryMark | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const sequence: unknown = Reflect.get(v, 'sequence');
  const retries: unknown = Reflect.get(v, 'retries');
  const epoch: unknown = Reflect.get(v, 'epoch');
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0) return undefined;
  if (epoch !== undefined && typeof epoch !== 'string') return undefined;
  return { sequence, retries, ...(epoch === undefined ? {} : { epoch }) };
}
