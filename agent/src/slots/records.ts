/**
 * What each slot holds, kept on the data partition (`slots.json`): the release
 * version and the image digest (size, sha256) written there, and the slot last
 * committed. The digest picks the delta for the running slot without reading it;
 * the version is what `status` reports. A missing or damaged file is empty: the
 * agent then hashes the slot itself and reports the version as unknown.
 */
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../durable/index.js';
import { SLOTS } from '../boot/index.js';
import type { Slot } from '../boot/index.js';

/** The image in one slot. */
export interface SlotContent {
  /** Release version, or null for an image of unknown version (factory image without `--version`). */
  readonly version: number | null;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** The release's human version (`--name`), when it has one. */
  readonly name?: string;
  /** Something worth a warning about this image (e.g. the other slot ran the same one before), shown by `status`. */
  readonly note?: string;
}

/** Everything recorded. */
export interface SlotRecords {
  readonly slots: Partial<Record<Slot, SlotContent>>;
  /** The slot last committed (the one to return to when nothing else is known). */
  readonly committed?: Slot;
}

const FORMAT = 'ota-slots/1';
/** A release name as release metadata bounds it (formats' RELEASE_NAME); anything else is dropped. */
const NAME = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;
const FILE = 'slots.json';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function content(v: unknown): SlotContent | undefined {
  if (!isRecord(v)) return undefined;
  const { version, sizeBytes, sha256, note, name } = v;
  if (version !== null && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)) return undefined;
  if (typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) return undefined;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  return {
    version, sizeBytes, sha256,
    ...(typeof note === 'string' && note.length <= 500 ? { note } : {}),
    ...(typeof name === 'string' && NAME.test(name) ? { name } : {}),
  };
}

/** Decode `slots.json`; anything malformed reads as empty. */
export function decodeSlotRecords(text: string): SlotRecords {
  let json: unknown;
  try { json = JSON.parse(text); } catch { return { slots: {} }; }
  if (!isRecord(json) || json['format'] !== FORMAT || !isRecord(json['slots'])) return { slots: {} };
  const slots: Partial<Record<Slot, SlotContent>> = {};
  for (const s of SLOTS) {
    const c = content(json['slots'][s]);
    if (c !== undefined) slots[s] = c;
  }
  const committed = SLOTS.find((s) => s === json['committed']);
  return committed === undefined ? { slots } : { slots, committed };
}

/** The slot records file in a data directory. */
export class SlotRecordStore {
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, FILE);
  }

  /** Read the records (empty when missing or damaged). */
  async load(): Promise<SlotRecords> {
    const bytes = await readFileIfExists(this.file);
    return bytes === undefined ? { slots: {} } : decodeSlotRecords(bytes.toString('utf8'));
  }

  /** Record what `slot` now holds (`null` forgets it: the slot is being overwritten). */
  async setContent(slot: Slot, value: SlotContent | null): Promise<void> {
    const r = await this.load();
    const slots = { ...r.slots };
    if (value === null) delete slots[slot];
    else slots[slot] = value;
    await this.save({ ...r, slots });
  }

  /** Record `slot` as the committed one. */
  async setCommitted(slot: Slot): Promise<void> {
    await this.save({ ...(await this.load()), committed: slot });
  }

  private async save(r: SlotRecords): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ format: FORMAT, ...r }, null, 2)}\n`);
  }
}
