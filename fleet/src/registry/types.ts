/**
 * The fleet registry's storage interface: what the fleet remembers of its devices (inventory as they
 * report it), the operator's groups, and every rollout with its decisions and per-device outcomes. One
 * interface, two stores (SQLite, the embedded default; PostgreSQL), one schema. Every method is async so
 * a dashboard or the controller can use either store the same way.
 */

/** One device as the registry holds it: its last accepted status document, flattened. */
export interface DeviceRecord {
  readonly deviceId: string;
  readonly hardware: string | null;
  /** The release it runs; null when it reports `unknown`. */
  readonly version: number | null;
  /** The release's human name, when it has one. */
  readonly name: string | null;
  readonly phase: string;
  readonly booted: string;
  /** Slot name -> state (`good`, `trial`, `bad`), as reported. */
  readonly slots: Readonly<Record<string, string>>;
  readonly agentVersion: string | null;
  readonly kernel: string | null;
  /** Network facts as the device reports them (interface -> address...), when it does. */
  readonly network: Readonly<Record<string, string>> | null;
  /** Vendor inventory attributes the device reports (name -> value). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly lastError: string | null;
  /** The last update's outcome (`installed`, `reverted`, `failed`) and release, when reported. */
  readonly lastOutcome: string | null;
  readonly lastOutcomeVersion: number | null;
  readonly bootId: string;
  readonly seq: number;
  /** `updatedAt` of the document (the device's clock: informative). */
  readonly reportedAt: string;
  /** When the fleet first and last accepted a document of this device (the fleet's clock). */
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** When the operator removed (decommissioned) it; null while it is in service. */
  readonly removedAtMs: number | null;
}

/** A status document ready for the registry: the checked fields and the fleet's time of receipt. */
export type DeviceDocument = Omit<DeviceRecord, 'firstSeenMs' | 'lastSeenMs' | 'removedAtMs'> & { readonly receivedMs: number };

/** What ingesting one document did. */
export type IngestOutcome =
  /** A device the registry did not hold. */
  | 'added'
  /** A newer document (a higher sequence of the same boot, or a new boot). */
  | 'updated'
  /** The document the registry holds already (same boot, same sequence): nothing changed. */
  | 'duplicate'
  /** An older document (a lower sequence of the same boot, or an earlier boot): ignored. */
  | 'stale'
  /** A removed device: the document is ignored until the operator restores it. */
  | 'removed';

/** A condition on the inventory: `key=value` on an attribute or a built-in field (hardware, version, name, agentVersion, kernel, phase, booted). */
export interface AttributeMatch {
  readonly key: string;
  readonly value: string;
}

/** Filters of `device list` (all must hold); removed devices only with `includeRemoved`. */
export interface DeviceFilter {
  readonly version?: number;
  readonly hardware?: string;
  readonly attributes?: readonly AttributeMatch[];
  readonly group?: string;
  readonly includeRemoved?: boolean;
}

/** A group: a fixed list of devices, or a filter on the inventory evaluated when it is read. */
export type GroupDefinition =
  | { readonly kind: 'static'; readonly devices: readonly string[] }
  | { readonly kind: 'dynamic'; readonly match: readonly AttributeMatch[] };

/** A named group. */
export interface GroupRecord {
  readonly name: string;
  readonly definition: GroupDefinition;
  readonly createdMs: number;
}

/** A rollout as the history keeps it. */
export interface RolloutRecord {
  readonly rolloutId: string;
  readonly releaseVersion: number;
  readonly hardware: readonly string[];
  /** The group it targets, when it targets one. */
  readonly group: string | null;
  readonly canaries: readonly string[];
  /** Cumulative stage percentages as given (the canary stage, when there is one, comes before them). */
  readonly stagesPercent: readonly number[];
  readonly status: string;
  readonly reason: string | null;
  readonly startedMs: number;
  readonly updatedMs: number;
}

/** What a rollout did, in order: start, stage advances, pause, resume, halt (and why), abort, completion. */
export interface RolloutEvent {
  readonly rolloutId: string;
  readonly atMs: number;
  readonly kind: 'start' | 'advance' | 'pause' | 'resume' | 'halt' | 'abort' | 'complete';
  /** The stage the event leads to (or the stage halted or completed), counting a canary stage as 0. */
  readonly stageIndex: number;
  readonly detail: string;
}

/** One device's outcome in a rollout (the latest one seen). */
export interface RolloutOutcome {
  readonly rolloutId: string;
  readonly deviceId: string;
  readonly stageIndex: number;
  readonly outcome: 'targeted' | 'installing' | 'trying' | 'committed' | 'failed';
  readonly reason: string | null;
  readonly atMs: number;
}

/** A rollout's whole record. */
export interface RolloutHistory {
  readonly rollout: RolloutRecord;
  readonly events: readonly RolloutEvent[];
  readonly outcomes: readonly RolloutOutcome[];
}

/** The registry. */
export interface Registry {
  /** `sqlite` or `postgres`, and where (a file, or the URL without its password). */
  readonly describe: string;
  /** Write a status document: idempotent, stale and duplicate documents change nothing. */
  ingest(doc: DeviceDocument): Promise<IngestOutcome>;
  /** Write several documents in one transaction, in order (a batch of what the broker delivered). */
  ingestMany(docs: readonly DeviceDocument[]): Promise<IngestOutcome[]>;
  device(id: string): Promise<DeviceRecord | undefined>;
  devices(filter?: DeviceFilter): Promise<DeviceRecord[]>;
  /** Decommission: the device leaves lists, groups and rollout arithmetic; false when unknown. */
  removeDevice(id: string, atMs: number): Promise<boolean>;
  /** The ids of the removed devices, sorted. */
  removedDevices(): Promise<string[]>;
  /** Put it back in service (its next document is accepted again); false when unknown. */
  restoreDevice(id: string): Promise<boolean>;
  putGroup(name: string, definition: GroupDefinition, atMs: number): Promise<void>;
  group(name: string): Promise<GroupRecord | undefined>;
  groups(): Promise<GroupRecord[]>;
  removeGroup(name: string): Promise<boolean>;
  /** The in-service devices of a group, sorted; GROUP_UNKNOWN when there is none by that name. */
  groupMembers(name: string): Promise<string[]>;
  /** Create or update a rollout's record. */
  putRollout(r: RolloutRecord): Promise<void>;
  addRolloutEvent(e: RolloutEvent): Promise<void>;
  /** Record a device's outcome; writing the outcome it holds already changes nothing. */
  putRolloutOutcome(o: RolloutOutcome): Promise<void>;
  rollouts(): Promise<RolloutRecord[]>;
  rolloutHistory(id: string): Promise<RolloutHistory | undefined>;
  /** The schema version the store is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
