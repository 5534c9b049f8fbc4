/**
 * Which payload an install uses, delta or full image, and why. A delta is only
 * as good as its base: a root filesystem mounted read-write once (Debian's
 * default), or jbd2 rewriting a mounted ext4's journal superblock, changes the
 * booted slot, and a delta made from the release's base then cannot apply. So
 * the booted slot is read once, whole, before any byte of the delta is fetched
 * or written, and compared with the base the signed release records; when it
 * differs the full image is installed instead. That one read also serves the
 * delta applier (its base check), so a delta costs no second read of the base.
 *
 * The choice is saved on the data partition before the install writes anything
 * (`payload.json`): progress in the journal counts bytes of the chosen
 * artifact, so a resumed install must continue the same one; `status` reports
 * the choice with the update.
 */
import { join } from 'node:path';
import { RecordFile } from '../durable/index.js';
import { deltaFor, isDeltaArtifactFormat, type Artifact, type DeltaArtifact, type ImageDigest, type ReleaseMetadata } from '../formats/index.js';

/** The two payloads a release offers. */
export type PayloadKind = 'delta' | 'full';

/**
 * Why: `base-matches` (the booted slot is the delta's base), `base-drifted` (the records name a base the
 * release has a delta for, but the slot's bytes differ), `no-delta-for-base` (the release has no delta
 * from what the slot holds), `delta-format-unknown` (its delta for this base is in a container format
 * newer than this agent applies: a fleet's newer encoder never strands an older agent).
 */
export type PayloadReason = 'base-matches' | 'base-drifted' | 'no-delta-for-base' | 'delta-format-unknown';

/** The outcome of the choice. */
export interface PayloadChoice {
  readonly payload: PayloadKind;
  readonly reason: PayloadReason;
  readonly artifact: Artifact | DeltaArtifact;
  /** For a delta: the base's sha256 as read for the choice (the applier need not read the base again). */
  readonly baseSha256?: string;
  /** For a drifted base: what the slot reads as, for the log. */
  readonly found?: ImageDigest;
}

/** Reads the first `sizeBytes` of the booted slot and returns their sha256 (undefined: the slot is shorter). */
export type ReadBase = (sizeBytes: number) => Promise<string | undefined>;

/**
 * Choose the payload for a device whose booted slot is recorded as `recorded` (undefined: no record).
 * With a record, the delta for it is checked by one read of the slot; without one, the slot is read once
 * per distinct base size the release's deltas name (one, in practice).
 */
export async function choosePayload(release: ReleaseMetadata, recorded: ImageDigest | undefined, readBase: ReadBase): Promise<PayloadChoice> {
  const full = (reason: PayloadReason, found?: ImageDigest): PayloadChoice => ({ payload: 'full', reason, artifact: release.image, ...(found === undefined ? {} : { found }) });
  const forBase = recorded === undefined ? release.deltas
    : release.deltas.filter((d) => d.base.sha256 === recorded.sha256 && d.base.sizeBytes === recorded.sizeBytes);
  const candidates = forBase.filter((d) => isDeltaArtifactFormat(d.format));
  if (candidates.length === 0) return full(recorded !== undefined && forBase.length > 0 ? 'delta-format-unknown' : 'no-delta-for-base');
  let found: ImageDigest | undefined;
  for (const sizeBytes of new Set(candidates.map((d) => d.base.sizeBytes))) {
    const sha256 = await readBase(sizeBytes);
    if (sha256 === undefined) continue;
    found = { sizeBytes, sha256 };
    const delta = candidates.find((d) => d.base.sizeBytes === sizeBytes && d.base.sha256 === sha256);
    if (delta !== undefined) return { payload: 'delta', reason: 'base-matches', artifact: delta, baseSha256: sha256 };
  }
  return recorded === undefined ? full('no-delta-for-base', found) : full('base-drifted', found);
}

/** The artifact an agent without this check chose: the delta for the recorded base, else the full image. */
function recordsChoice(release: ReleaseMetadata, recorded: ImageDigest | undefined): string {
  return (recorded === undefined ? undefined : deltaFor(release, recorded))?.path ?? release.image.path;
}

/** The choice as saved, and as `status` reports it. */
export interface PayloadRecord {
  /** The release version. */
  readonly version: number;
  /** The slot written. */
  readonly target: string;
  /** The artifact's path in the release. */
  readonly artifact: string;
  readonly payload: PayloadKind;
  readonly reason: PayloadReason;
}

const FORMAT = 'ota-payload/1';
const KINDS: readonly PayloadKind[] = ['delta', 'full'];
const REASONS: readonly PayloadReason[] = ['base-matches', 'base-drifted', 'no-delta-for-base', 'delta-format-unknown'];

/** The saved choice of the last install (`payload.json` on the data partition); saved before the install writes its first byte. */
export class PayloadStore extends RecordFile<PayloadRecord> {
  constructor(dataDir: string) {
    super(join(dataDir, 'payload.json'), FORMAT, decode);
  }

  /** The saved choice for release `version` into `target`, if that is what it records. */
  async loadFor(version: number, target: string): Promise<PayloadRecord | undefined> {
    const r = await this.load();
    return r !== undefined && r.version === version && r.target === target ? r : undefined;
  }
}

function decode(o: Record<string, unknown>): PayloadRecord | undefined {
  const { version, target, artifact } = o;
  const payload = KINDS.find((k) => k === o['payload']);
  const reason = REASONS.find((r) => r === o['reason']);
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || typeof target !== 'string' || typeof artifact !== 'string' || payload === undefined || reason === undefined) return undefined;
  return { version, target, artifact, payload, reason };
}

/** What `payloadFor` needs. */
export interface PayloadInput {
  readonly release: ReleaseMetadata;
  /** The job's release version and target slot. */
  readonly version: number;
  readonly target: string;
  /** The job's durable progress (bytes of the artifact it chose). */
  readonly progressBytes: number;
  /** What the slot records say the booted slot holds. */
  readonly recorded: ImageDigest | undefined;
  readonly readBase: ReadBase;
  readonly store: PayloadStore;
}

/**
 * The payload of an install and where to start it: a resumed install keeps the choice it saved (a full
 * image without reading the base again; a delta only if the base still matches, its one read serving the
 * applier). Progress with no saved choice at all (an agent updated mid-install) continues if the fresh
 * choice is the artifact the older agent picked; anything else is chosen afresh, saved, and starts at 0.
 */
export async function payloadFor(input: PayloadInput): Promise<{ choice: PayloadChoice; fromBytes: number }> {
  const { release, version, target, store } = input;
  const saved = input.progressBytes > 0 ? await store.loadFor(version, target) : undefined;
  if (saved?.payload === 'full' && saved.artifact === release.image.path) {
    return { choice: { payload: 'full', reason: saved.reason, artifact: release.image }, fromBytes: input.progressBytes };
  }
  const choice = await choosePayload(release, input.recorded, input.readBase);
  // Progress saved by an agent that kept no choice counts bytes of the artifact it picked from the records alone.
  const resumed = saved?.artifact ?? (input.progressBytes > 0 && await store.load() === undefined ? recordsChoice(release, input.recorded) : undefined);
  const continues = resumed === choice.artifact.path;
  if (!continues || saved === undefined) await store.save({ version, target, artifact: choice.artifact.path, payload: choice.payload, reason: choice.reason });
  return { choice, fromBytes: continues ? input.progressBytes : 0 };
}
