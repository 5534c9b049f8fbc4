/**
 * The journal: the machine's state and the current job, saved on the data
 * partition before each persisted state runs. One JSON file written with
 * `writeFileAtomic` (temp, fsync, rename, fsync dir) and a SHA-256 over its body,
 * so a torn or edited file reads as `corrupt` (which resumes into a safe revert).
 */
import { createHash } from 'node:crypto';
import { readFileIfExists, writeFileAtomic } from '../durable/index.js';
import { CHANNEL_NAME } from '../formats/index.js';
import { isState } from './table.js';
import type { Outcome, State } from './table.js';

export type { Outcome } from './table.js';

/** The update in flight. Everything a resumed process needs. */
export interface Job {
  /** The notice as received (base64), re-verified when resuming `verifying`. */
  readonly noticeBase64: string;
  /** The release version (a number, as in the release metadata and the status). */
  readonly version?: number;
  readonly sequence?: number;
  /** The epoch of `sequence` (the rollout keys that signed the notice; sequence.ts). */
  readonly sequenceEpoch?: string;
  /** The release channel of the update (the trust state follows it from acceptance on; kept here for the status and a resume). */
  readonly channel?: string;
  /** The slot being written and tried. */
  readonly target?: string;
  /** The slot that ran when the update began: the one to revert to. */
  readonly previous?: string;
  /** The boot in which the trial was armed (BootCounters.boot): a later boot that runs another slot ended the trial. */
  readonly armedBoot?: string;
  /** BootCounters.exhausted when the trial was armed: a refill since means the trial slot's tries ran out. */
  readonly armedExhausted?: number;
  /** Durable progress of `installing` (bytes applied), from its checkpoints. */
  readonly progress: number;
  /** Saves per state since the last progress: ends reboot loops. */
  readonly saves: Partial<Record<State, number>>;
  readonly outcome?: Outcome;
  readonly error?: string;
  /** The stable code of the error (OtaError.code), when the failure was a typed error: the fleet names it per device. */
  readonly errorCode?: string;
}

/** What the journal holds. */
export interface JournalRecord {
  readonly state: State;
  /** Undefined at rest, or when a corrupt journal left nothing to go on. */
  readonly job?: Job;
  /** The highest notice sequence ever accepted: older or equal notices are ignored. */
  readonly highestSequence: number;
  /** The epoch of `highestSequence` (sequence.ts); absent in journals written before epochs. */
  readonly sequenceEpoch?: string;
  /** The last finished update, for `status`. */
  readonly last?: { readonly outcome: Outcome; readonly version?: number; readonly error?: string; readonly errorCode?: string };
}

/** The result of reading a journal. */
export type Loaded = { readonly kind: 'empty' } | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'ok'; readonly record: JournalRecord };

/** Where the journal lives; the file store is the real one, tests may use a memory one. */
export interface JournalStore {
  load(): Promise<Loaded>;
  save(record: JournalRecord): Promise<void>;
}

const FORMAT = 'ota-journal/1';
const OUTCOMES: readonly string[] = ['installed', 'reverted', 'rejected', 'failed'];

/** Serialize a record with its format tag and checksum. */
export function encodeJournal(record: JournalRecord): string {
  const body = JSON.stringify(record);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return `${JSON.stringify({ format: FORMAT, sha256, body })}\n`;
}

/** Parse and validate a journal file's text. Never throws: anything wrong is `corrupt`. */
export function decodeJournal(text: string): Loaded {
  let outer: unknown;
  try { outer = JSON.parse(text); } catch { return corrupt('not JSON (torn write?)'); }
  if (!isObject(outer) || outer['format'] !== FORMAT) return corrupt(`unknown format (want ${FORMAT})`);
  const { body, sha256 } = outer;
  if (typeof body !== 'string' || typeof sha256 !== 'string') return corrupt('missing body or checksum');
  if (createHash('sha256').update(body).digest('hex') !== sha256) return corrupt('checksum mismatch');
  let inner: unknown;
  try { inner = JSON.parse(body); } catch { return corrupt('body is not JSON'); }
  const record = parseRecord(inner);
  return record === undefined ? corrupt('fields out of range') : { kind: 'ok', record };
}

function corrupt(reason: string): Loaded {
  return { kind: 'corrupt', reason };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const optString = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';
const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A release version: a count; a journal an agent before 2026-12 wrote (still read after the update
 * that installs this one) holds it as a decimal string. Null when it is neither.
 */
function releaseVersion(v: unknown): number | undefined | null {
  if (v === undefined || count(v)) return v;
  return typeof v === 'string' && /^(0|[1-9][0-9]{0,14})$/.test(v) ? Number(v) : null;
}

function parseRecord(v: unknown): JournalRecord | undefined {
  if (!isObject(v) || !isState(v['state']) || !count(v['highestSequence']) || !optString(v['sequenceEpoch'])) return undefined;
  const job = v['job'] === undefined ? undefined : parseJob(v['job']);
  if (v['job'] !== undefined && job === undefined) return undefined;
  const last = v['last'];
  let parsedLast: JournalRecord['last'];
  if (last !== undefined) {
    const version = isObject(last) ? releaseVersion(last['version']) : null;
    if (!isObject(last) || !isOutcome(last['outcome']) || version === null || !optString(last['error']) || !optString(last['errorCode'])) return undefined;
    parsedLast = { outcome: last['outcome'], ...opt('version', version), ...opt('error', last['error']), ...opt('errorCode', last['errorCode']) };
  }
  return { state: v['state'], highestSequence: v['highestSequence'], ...opt('sequenceEpoch', v['sequenceEpoch']), ...opt('job', job), ...opt('last', parsedLast) };
}

function parseJob(v: unknown): Job | undefined {
  if (!isObject(v) || typeof v['noticeBase64'] !== 'string' || !count(v['progress']) || !isObject(v['saves'])) return undefined;
  const { target, previous, error, errorCode, sequence, sequenceEpoch, outcome, armedBoot, armedExhausted, channel } = v;
  const version = releaseVersion(v['version']);
  if (version === null || !optString(target) || !optString(previous) || !optString(error) || !optString(errorCode) || !optString(armedBoot) || !optString(sequenceEpoch)) return undefined;
  if (channel !== undefined && (typeof channel !== 'string' || !CHANNEL_NAME.test(channel))) return undefined;
  if ((sequence !== undefined && !count(sequence)) || (armedExhausted !== undefined && !count(armedExhausted))) return undefined;
  if (outcome !== undefined && !isOutcome(outcome)) return undefined;
  const saves: Partial<Record<State, number>> = {};
  for (const [key, n] of Object.entries(v['saves'])) {
    if (!isState(key) || !count(n)) return undefined;
    saves[key] = n;
  }
  return {
    noticeBase64: v['noticeBase64'], progress: v['progress'], saves,
    ...opt('version', version), ...opt('sequence', sequence), ...opt('sequenceEpoch', sequenceEpoch), ...opt('target', target),
    ...opt('previous', previous), ...opt('outcome', outcome), ...opt('error', error), ...opt('errorCode', errorCode),
    ...opt('armedBoot', armedBoot), ...opt('armedExhausted', armedExhausted), ...opt('channel', channel),
  };
}

function isOutcome(v: unknown): v is Outcome {
  return typeof v === 'string' && OUTCOMES.includes(v);
}

/** `{ key: value }` when value is defined, else `{}` (exactOptionalPropertyTypes-friendly). */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  const out: { [P in K]?: V } = {};
  if (value !== undefined) out[key] = value;
  return out;
}

/** The journal as one file on the data partition. */
export class FileJournal implements JournalStore {
  /** @param file the journal path, e.g. `<dataDir>/journal.json`. */
  constructor(private readonly file: string) {}

  /** Read the journal; a missing file is `empty`, an unreadable one `corrupt`. I/O errors throw. */
  async load(): Promise<Loaded> {
    const bytes = await readFileIfExists(this.file);
    if (bytes === undefined) return { kind: 'empty' };
    return decodeJournal(bytes.toString('utf8'));
  }

  /** Durably replace the journal (the write is complete on return). */
  async save(record: JournalRecord): Promise<void> {
    await writeFileAtomic(this.file, encodeJournal(record), 0o600);
  }
}
