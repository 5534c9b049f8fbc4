/**
 * Assembles segments from the bytes of any number of responses, verifies each
 * against its signed sha256, hands verified segments to the consumer in order,
 * then checkpoints. The only place bytes leave the downloader.
 */
import { createHash } from 'node:crypto';
import { withContext } from '../errors/index.js';
import { DownloadError } from './errors.js';
import type { DownloadPlan } from './plan.js';
import type { DownloadState } from './state.js';

/** Receives each verified segment, in order; resolves once the bytes are durable. */
export type SegmentConsumer = (index: number, bytes: Buffer) => Promise<void>;

/** The bytes held of the current segment and where they came from. */
interface Held {
  chunks: Buffer[];
  sizeBytes: number;
  readonly url: string;
  readonly validator: string | undefined;
  /** How many responses (or a spool) contributed: a mismatch of one piece blames the mirror. */
  pieces: number;
}

/** Segment assembly, verification and hand-over. */
export class SegmentAssembler {
  /** Index of the segment being assembled (= number handed over). */
  next = 0;
  private held: Held | undefined;

  constructor(private readonly plan: DownloadPlan, private readonly state: DownloadState, private readonly consumer: SegmentConsumer) {}

  /** Load the checkpoint and the spool; a complete spooled segment is verified and handed over. Returns true when nothing was saved. */
  async restore(): Promise<boolean> {
    this.next = await this.state.loadNext(this.plan.segments.length);
    const seg = this.plan.segments[this.next];
    if (seg === undefined) return this.next === 0;
    const spool = await this.state.loadSpool(this.next, seg.sizeBytes);
    if (spool === undefined || !this.plan.urls.includes(spool.url)) return this.next === 0;
    this.held = { chunks: [spool.bytes], sizeBytes: spool.bytes.length, url: spool.url, validator: spool.validator, pieces: 2 };
    if (spool.bytes.length === seg.sizeBytes) {
      try {
        await this.complete();
      } catch (err) {
        if (!(err instanceof DownloadError)) throw err; // a hash mismatch was dropped: fetch the segment again
      }
    }
    return false;
  }

  /** True once every segment was handed over. */
  done(): boolean {
    return this.next >= this.plan.segments.length;
  }

  /** The bytes held of the current segment when they came from `url`; bytes from another mirror are dropped. */
  async heldFrom(url: string): Promise<{ sizeBytes: number; validator: string | undefined }> {
    if (this.held !== undefined && this.held.url !== url) await this.drop();
    return { sizeBytes: this.held?.sizeBytes ?? 0, validator: this.held?.validator };
  }

  /** Bytes held of the current segment (0 when none). */
  heldBytes(): number {
    return this.held?.sizeBytes ?? 0;
  }

  /** Release the spool file (its content stays for the next run). */
  async close(): Promise<void> {
    await this.state.closeSpool();
  }

  /** Forget the bytes of the current segment. */
  async drop(): Promise<void> {
    this.held = undefined;
    await this.state.clearSpool();
  }

  /** A new response starts contributing to the held segment. */
  newPiece(): void {
    if (this.held !== undefined) this.held.pieces += 1;
  }

  /** Take bytes that continue the held segment, from `url` (validator may be undefined: then nothing is spooled). */
  async absorb(chunk: Buffer, url: string, validator: string | undefined): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      const seg = this.plan.segments[this.next];
      if (seg === undefined) return;
      if (this.held === undefined) {
        this.held = { chunks: [], sizeBytes: 0, url, validator, pieces: 1 };
        if (validator !== undefined) await this.state.beginSpool(this.next, url, validator);
      }
      const take = rest.subarray(0, seg.sizeBytes - this.held.sizeBytes);
      rest = rest.subarray(take.length);
      this.held.chunks.push(take);
      this.held.sizeBytes += take.length;
      await this.state.appendSpool(take);
      if (this.held.sizeBytes === seg.sizeBytes) await this.complete();
    }
  }

  private async complete(): Promise<void> {
    const index = this.next;
    const seg = this.plan.segments[index];
    const held = this.held;
    if (seg === undefined || held === undefined) return;
    const bytes = Buffer.concat(held.chunks, held.sizeBytes);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== seg.sha256) {
      await this.drop();
      const onePiece = held.pieces === 1;
      throw new DownloadError('DOWNLOAD_HASH_MISMATCH',
        `segment ${index} from ${held.url}: sha256 ${actual}, signed ${seg.sha256}; ${onePiece ? 'trying the next mirror' : 'fetching the segment again'}`,
        onePiece ? 'next-mirror' : 'restart-segment');
    }
    try {
      await this.consumer(index, bytes);
    } catch (err) {
      throw withContext(`download: handing over segment ${index}`, err);
    }
    await this.state.saveNext(index + 1, seg.offsetBytes + seg.sizeBytes);
    this.next = index + 1;
    this.held = undefined;
    await this.state.clearSpool();
  }
}
