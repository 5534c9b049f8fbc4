/**
 * The device as the agent config describes it, opened once: the boot env and
 * BootControl on it, the slot table and slot records, the trust verifier and
 * the update journal, all rooted at paths from the config.
 */
import { prepareDataDir } from '../files/index.js';
import { join } from 'node:path';
import { UBootControl, SLOTS } from '../boot/index.js';
import type { Slot } from '../boot/index.js';
import { openBootEnv } from '../bootenv/index.js';
import type { UBootEnv } from '../bootenv/index.js';
import type { AgentConfig } from '../config/index.js';
import { OtaError } from '../errors/index.js';
import type { ImageDigest } from '../formats/index.js';
import { FileJournal } from '../machine/index.js';
import { SlotRecordStore, SlotTable, hashSlot } from '../slots/index.js';
import { TrustVerifier } from '../trust/index.js';
import type { Logger } from '../log/index.js';
import { PayloadStore } from './payload.js';
import { EtcMergeStore } from '../etc/index.js';

/** Everything the agent acts on. */
export interface Device {
  readonly config: AgentConfig;
  readonly env: UBootEnv;
  readonly boot: UBootControl;
  readonly slots: SlotTable;
  readonly records: SlotRecordStore;
  readonly trust: TrustVerifier;
  readonly journal: FileJournal;
  /** The payload (delta or full image) the last install chose, and why. */
  readonly payloads: PayloadStore;
  /** What the last install found when it carried /etc to the new slot (conflicts with the release). */
  readonly etcMerges: EtcMergeStore;
  /** Directory on the data partition for download state (one-segment spool, checkpoint) and a delta's saved header. */
  readonly spoolDir: string;
}

/** An opened device, its logger, and the config it was opened from. */
export interface Opened { readonly device: Device; readonly log: Logger; readonly config: AgentConfig }

/**
 * Open the device of `config`; `nowMs` is the clock the verifier uses. `access: 'read'` (status) creates
 * nothing: the data directory is checked but not made.
 */
export async function openDevice(config: AgentConfig, nowMs: () => number, access: 'read' | 'write' = 'write'): Promise<Device> {
  await prepareDataDir(config.dataDir, access === 'write');
  const env = await openBootEnv({ configPath: config.envConfigPath });
  return {
    config, env,
    boot: new UBootControl({ env, cmdlinePath: config.cmdlinePath, tries: config.tries }),
    slots: new SlotTable(config.slots, { sysfsRoot: config.sysfsRoot, mountinfoPath: config.mountinfoPath }),
    records: new SlotRecordStore(config.dataDir),
    trust: new TrustVerifier({ dir: config.dataDir, device: { hardwareId: config.hardware, deviceId: config.deviceId, ...(config.cohort === undefined ? {} : { cohort: config.cohort }), ...(config.channel === undefined ? {} : { channel: config.channel }) } }, nowMs),
    journal: new FileJournal(join(config.dataDir, 'journal.json')),
    payloads: new PayloadStore(config.dataDir),
    etcMerges: new EtcMergeStore(config.dataDir),
    spoolDir: join(config.dataDir, 'download'),
  };
}

/** A slot name from the journal (a string), checked. */
export function asSlot(value: string | undefined, what: string): Slot {
  const slot = SLOTS.find((s) => s === value);
  if (slot === undefined) throw new OtaError('JOURNAL_SLOT', `update journal: ${what} is ${JSON.stringify(value)}, not a slot name`);
  return slot;
}

/** What `slot` holds: from the slot records, else by hashing the whole slot. */
export async function slotDigest(device: Device, slot: Slot, signal?: AbortSignal): Promise<ImageDigest> {
  const known = (await device.records.load()).slots[slot];
  if (known !== undefined) return { sizeBytes: known.sizeBytes, sha256: known.sha256 };
  const sizeBytes = await device.slots.sizeBytes(slot);
  return { sizeBytes, sha256: await hashSlot(device.slots.device(slot), sizeBytes, signal) };
}
