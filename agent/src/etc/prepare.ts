/**
 * The install step for /etc: before a trial is armed, the new slot's upper
 * directory becomes a copy of the running slot's (the device's changes go
 * along; the running slot's own upper is untouched, so a rollback shows its
 * view), and the paths both the device and the new release changed are
 * found, logged and saved for the status document (`lastUpdate.etcConflicts`).
 */
import { join } from 'node:path';
import { promises as fsp } from 'node:fs';
import { RecordFile } from '../durable/index.js';
import { findConflicts, type Conflicts } from './conflicts.js';
import { entryAt, type EtcEntry, type EtcManifest } from './manifest.js';
import { copyUpper, scanUpper, upperDirOf } from './upper.js';

/** Where the pre-init put things (config `etc`). */
export interface EtcLayout {
  /** Per-slot overlay directories on the data partition (`/data/overlay`). */
  readonly overlayDir: string;
  /** The running slot's own /etc, read-only, as the pre-init left it visible (`/run/ota/lower-etc`). */
  readonly lowerDir: string;
}

/** What one preparation found; `conflicts` undefined when the release carries no /etc manifest. */
export interface EtcMerge {
  readonly version: number;
  readonly target: string;
  readonly conflicts?: Conflicts;
}

/** True when the device boots through the pre-init (the running slot's /etc is visible at `lowerDir`). */
export async function hasEtcOverlay(layout: EtcLayout): Promise<boolean> {
  return (await fsp.stat(layout.lowerDir).catch(() => undefined))?.isDirectory() === true;
}

/**
 * Copy `booted`'s upper into `target`'s and compare against `next` (the new release's /etc manifest).
 * Idempotent: run again after a crash, it starts from the running slot's upper again.
 */
export async function prepareSlotEtc(layout: EtcLayout, booted: string, target: string, version: number, next: EtcManifest | undefined, signal?: AbortSignal): Promise<EtcMerge> {
  const upper = await scanUpper(upperDirOf(layout.overlayDir, booted));
  let conflicts: Conflicts | undefined;
  if (next !== undefined) {
    const running = new Map<string, EtcEntry>();
    for (const path of upper.keys()) {
      const entry = await entryAt(join(layout.lowerDir, path));
      if (entry !== undefined) running.set(path, entry);
    }
    conflicts = findConflicts(upper, running, next);
  }
  await copyUpper(layout.overlayDir, booted, target, signal);
  return { version, target, ...(conflicts === undefined ? {} : { conflicts }) };
}

const FORMAT = 'ota-etc-merge/1';

/** The last preparation's findings (`etc-merge.json` on the data partition), for `status`. */
export class EtcMergeStore extends RecordFile<EtcMerge> {
  constructor(dataDir: string) {
    super(join(dataDir, 'etc-merge.json'), FORMAT, decode);
  }

  /** The saved findings for release `version`; undefined when none (or damaged). */
  async loadFor(version: number): Promise<EtcMerge | undefined> {
    const m = await this.load();
    return m?.version === version ? m : undefined;
  }
}

function decode(o: Record<string, unknown>): EtcMerge | undefined {
  const { version, target } = o;
  if (typeof version !== 'number' || typeof target !== 'string') return undefined;
  const c = o['conflicts'];
  if (c === undefined) return { version, target };
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const { paths, total }: Record<string, unknown> = { ...c };
  if (!Array.isArray(paths) || typeof total !== 'number' || !paths.every((p): p is string => typeof p === 'string')) return undefined;
  return { version, target, conflicts: { paths, total } };
}
