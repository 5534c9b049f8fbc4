/**
 * What survives a restart: the checkpoint (next segment to fetch; every earlier
 * one was verified and handed over) and a spool holding the verified-later
 * prefix of the current segment (at most one segment), tagged with the mirror
 * and validator it came from. The checkpoint is written atomically after each
 * segment; the spool is a plain append: a torn or stale spool only costs a
 * refetch, because a segment is hashed before anything is handed on. No hash
 * state is saved: the rule is to hash each segment whole (spooled prefix plus
 * the rest) when it is complete.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../durable/index.js';
import { withContext } from '../errors/index.js';
import type { DownloadPlan } from './plan.js';

/** The prefix of a segment received before a restart. */
export interface SpoolContent {
  readonly url: string;
  readonly validator: string;
  readonly bytes: Buffer;
}

/** Identify a plan by its signed content, so a checkpoint of another release is never resumed. */
export function planId(plan: DownloadPlan): string {
  const h = createHash('sha256').update(String(plan.totalSizeBytes));
  for (const s of plan.segments) h.update(`\n${s.offsetBytes}:${s.sizeBytes}:${s.sha256}`);
  return h.digest('hex');
}

function record(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v } : undefined;
  } catch {
    return undefined;
  }
}

/** Checkpoint and spool files in one state directory. */
export class DownloadState {
  private readonly checkpointFile: string;
  private readonly spoolFile: string;
  private readonly spoolMetaFile: string;
  private spool: fsp.FileHandle | undefined;

  constructor(stateDir: string, private readonly id: string) {
    this.checkpointFile = join(stateDir, 'download.json');
    this.spoolFile = join(stateDir, 'download.spool');
    this.spoolMetaFile = join(stateDir, 'download.spool.json');
  }

  /** The next segment to fetch: 0 without a checkpoint, or with one of another plan. */
  async loadNext(segmentCount: number): Promise<number> {
    const text = await readFileIfExists(this.checkpointFile);
    const c = text === undefined ? undefined : record(text.toString('utf8'));
    const next = c?.['nextSegment'];
    if (c?.['planId'] !== this.id || typeof next !== 'number' || !Number.isSafeInteger(next) || next < 0 || next > segmentCount) return 0;
    return next;
  }

  /** Record atomically that every segment before `next` (the bytes before `offsetBytes`) was verified and handed over. */
  async saveNext(next: number, offsetBytes: number): Promise<void> {
    await writeFileAtomic(this.checkpointFile, `${JSON.stringify({ version: 1, planId: this.id, nextSegment: next, offsetBytes })}\n`);
  }

  /** The spooled prefix of `segment`, if the spool belongs to it; further appends continue it. */
  async loadSpool(segment: number, maxBytes: number): Promise<SpoolContent | undefined> {
    const text = await readFileIfExists(this.spoolMetaFile);
    const m = text === undefined ? undefined : record(text.toString('utf8'));
    const url = m?.['url'];
    const validator = m?.['validator'];
    if (m?.['planId'] !== this.id || m['segment'] !== segment || typeof url !== 'string' || typeof validator !== 'string') return undefined;
    const bytes = await readFileIfExists(this.spoolFile);
    if (bytes === undefined || bytes.length === 0 || bytes.length > maxBytes) return undefined;
    await this.closeSpool();
    try {
      this.spool = await fsp.open(this.spoolFile, 'a');
    } catch (err) {
      throw withContext(`download spool ${this.spoolFile}`, err);
    }
    return { url, validator, bytes };
  }

  /** Start spooling `segment` from `url` (validator `validator`); the spool is emptied first. */
  async beginSpool(segment: number, url: string, validator: string): Promise<void> {
    await this.closeSpool();
    try {
      this.spool = await fsp.open(this.spoolFile, 'w');
    } catch (err) {
      throw withContext(`download spool ${this.spoolFile}`, err);
    }
    await writeFileAtomic(this.spoolMetaFile, `${JSON.stringify({ planId: this.id, segment, url, validator })}\n`);
  }

  /** Append bytes of the segment being spooled (no fsync: the segment hash catches a torn tail). */
  async appendSpool(chunk: Buffer): Promise<void> {
    if (this.spool === undefined) return;
    try {
      await this.spool.write(chunk);
    } catch (err) {
      throw withContext(`download spool ${this.spoolFile}`, err);
    }
  }

  /** Forget the spool (its segment was handed over, or its bytes are no longer wanted). */
  async clearSpool(): Promise<void> {
    await this.closeSpool();
    await fsp.rm(this.spoolMetaFile, { force: true });
    await fsp.rm(this.spoolFile, { force: true });
  }

  /** Close the spool file handle (the content stays for a restart). */
  async closeSpool(): Promise<void> {
    const fh = this.spool;
    this.spool = undefined;
    await fh?.close();
  }
}
