/**
 * The download loop: mirrors in order of preference, one ranged request at a
 * time from the first byte still needed, reactions to each failure (resume,
 * restart the segment, next mirror, give up), full-jitter backoff, a bandwidth
 * cap and a random start spread.
 */
import { EventEmitter } from 'node:events';
import { OtaError } from '../errors/index.js';
import { SegmentAssembler, type SegmentConsumer } from './assembler.js';
import { BodyQueue } from './body.js';
import { Backoff, monotonicClock, type BackoffOptions, type Clock, type Random } from '../time/index.js';
import { abortError, pause } from './abort.js';
import { DownloadError } from './errors.js';
import { openRange } from './http.js';
import { SpeedMeter, type SpeedLimits } from './meter.js';
import { checkPlan, type DownloadPlan } from './plan.js';
import { RateMeter, type DownloadProgress } from './progress.js';
import { DownloadState, planId } from './state.js';
import { TokenBucket, type BandwidthCap } from './throttle.js';

/** Events a download emits (typed EventEmitter). */
export interface DownloadEvents {
  progress: [DownloadProgress];
  /** A verified segment was handed over and checkpointed. */
  segment: [{ index: number; sizeBytes: number }];
  /** An attempt failed; `delayMs` is the wait before the next (0 for a restart or a mirror switch). */
  retry: [{ url: string; code: string; reaction: string; delayMs: number; message: string }];
}

/** Settings of a download; everything but plan, stateDir and onSegment has a default. */
export interface DownloadOptions {
  readonly plan: DownloadPlan;
  /** Directory for the checkpoint and the one-segment spool. */
  readonly stateDir: string;
  /** Receives verified segments in order; must make them durable before resolving. A segment may be handed over again after a crash. */
  readonly onSegment: SegmentConsumer;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Wall-clock time for Retry-After dates. */
  readonly epochNowMs?: () => number;
  readonly backoff?: BackoffOptions;
  /** A connection that streamed this long resets the backoff and the mirror's failure count. */
  readonly stablePeriodMs?: number;
  readonly limits?: SpeedLimits;
  readonly bandwidthCap?: BandwidthCap;
  /** Failed attempts in a row (without a stable period) before a mirror is dropped. */
  readonly maxAttemptsPerMirror?: number;
  /** Longest Retry-After honoured; longer ones are cut to this. */
  readonly maxRetryAfterMs?: number;
  /** Largest range asked in one request (whole segments are coalesced up to this, at least one). */
  readonly maxRequestBytes?: number;
}

/** What a finished download did. */
export interface DownloadSummary {
  /** Segment the run started at (from the checkpoint). */
  readonly startSegment: number;
  /** Bytes received from the network in this run. */
  readonly receivedBytes: number;
  readonly requests: number;
}

/**
 * Defaults. Backoff 1 s..5 min: quick after a cut, yet a fleet after an outage stays spread (test/unit/download/fleet).
 * Stable after 5 s of streaming: a link cut every 10 s keeps resuming within a second. Stall 30 s and a floor of
 * 512 B/s over 30 s: a slow link stays above it, a slow-retrieval attacker does not. 8 failures drop a mirror.
 */
export const DOWNLOAD_DEFAULTS = {
  backoff: { baseMs: 1000, capMs: 5 * 60_000 },
  stablePeriodMs: 5_000,
  limits: { stallTimeoutMs: 30_000, minBytesPerSecond: 512, windowMs: 30_000 },
  maxAttemptsPerMirror: 8,
  maxRetryAfterMs: 15 * 60_000,
  maxRequestBytes: 16 * 1024 * 1024,
} as const;

/** Bytes read ahead of the consumer before the connection is paused (under a bandwidth cap: the cap's burst, at least 16 KiB). */
const BODY_QUEUE_BYTES = 256 * 1024;
const CAPPED_QUEUE_MIN_BYTES = 16 * 1024;

interface Mirror { readonly url: string; failures: number; dead: boolean; lastError?: OtaError }

/** One resumable download of a plan. Call `run()` once. */
export class Download extends EventEmitter<DownloadEvents> {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly backoff: Backoff;
  private readonly assembler: SegmentAssembler;
  private readonly mirrors: Mirror[];
  private readonly rate: RateMeter;
  private readonly bucket: TokenBucket | undefined;
  private receivedBytes = 0;
  private requests = 0;
  private streamStartedMs: number | undefined;

  constructor(private readonly options: DownloadOptions) {
    super();
    checkPlan(options.plan);
    this.clock = options.clock ?? monotonicClock;
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.backoff ?? DOWNLOAD_DEFAULTS.backoff, this.random);
    const state = new DownloadState(options.stateDir, planId(options.plan));
    this.assembler = new SegmentAssembler(options.plan, state, async (index, bytes) => {
      await options.onSegment(index, bytes);
      this.emit('segment', { index, sizeBytes: bytes.length });
    });
    this.mirrors = options.plan.urls.map((url) => ({ url, failures: 0, dead: false }));
    this.rate = new RateMeter(this.clock);
    this.bucket = options.bandwidthCap === undefined ? undefined : new TokenBucket(options.bandwidthCap, this.clock);
  }

  /** Download every segment not yet checkpointed; throws an OtaError when every mirror failed or on abort. */
  async run(): Promise<DownloadSummary> {
    let startSegment = 0;
    try {
      const fresh = await this.assembler.restore();
      startSegment = this.assembler.next;
      const spreadMs = this.options.plan.spreadWindowMs ?? 0;
      if (fresh && spreadMs > 0) await pause(this.clock, Math.floor(this.random() * spreadMs), this.options.signal);
      while (!this.assembler.done()) {
        const mirror = this.mirrors.find((m) => !m.dead);
        if (mirror === undefined) throw this.exhausted();
        this.streamStartedMs = undefined;
        try {
          await this.attempt(mirror);
        } catch (err) {
          await this.react(mirror, err);
        }
      }
    } finally {
      await this.assembler.close();
    }
    return { startSegment, receivedBytes: this.receivedBytes, requests: this.requests };
  }

  private async react(mirror: Mirror, err: unknown): Promise<void> {
    const signal = this.options.signal;
    if (signal?.aborted === true) throw abortError(signal);
    if (!(err instanceof DownloadError)) throw err;
    const streamed = this.streamStartedMs === undefined ? 0 : this.clock.nowMs() - this.streamStartedMs;
    if (streamed >= (this.options.stablePeriodMs ?? DOWNLOAD_DEFAULTS.stablePeriodMs) && err.code !== 'DOWNLOAD_TRICKLE') {
      this.backoff.reset();
      mirror.failures = 0;
    }
    mirror.lastError = err;
    let delayMs = 0;
    if (err.reaction === 'restart-segment') {
      await this.assembler.drop();
    } else if (err.reaction === 'next-mirror') {
      mirror.dead = true;
    } else if (++mirror.failures >= (this.options.maxAttemptsPerMirror ?? DOWNLOAD_DEFAULTS.maxAttemptsPerMirror)) {
      mirror.dead = true;
    } else {
      const retryAfterMs = Math.min(err.retryAfterMs ?? 0, this.options.maxRetryAfterMs ?? DOWNLOAD_DEFAULTS.maxRetryAfterMs);
      delayMs = retryAfterMs + this.backoff.nextDelayMs();
    }
    this.emit('retry', { url: mirror.url, code: err.code, reaction: mirror.dead ? 'next-mirror' : err.reaction, delayMs, message: err.message });
    if (delayMs > 0) await pause(this.clock, delayMs, signal);
  }

  private exhausted(): OtaError {
    const last = this.mirrors[this.mirrors.length - 1]?.lastError;
    const reasons = this.mirrors.map((m) => `${m.url}: ${m.lastError?.message ?? 'unused'}`).join('; ');
    return new OtaError(last?.code ?? 'DOWNLOAD_FAILED',
      `download: every mirror failed (${reasons}); segments before ${this.assembler.next} are kept, retry later or check the mirrors`,
      { cause: last, transient: this.mirrors.some((m) => m.lastError?.transient === true) });
  }

  /** End (exclusive) of the next request: whole segments from the current one, up to maxRequestBytes. */
  private requestEnd(): number {
    const segments = this.options.plan.segments;
    const maxBytes = this.options.maxRequestBytes ?? DOWNLOAD_DEFAULTS.maxRequestBytes;
    const first = segments[this.assembler.next];
    let end = first === undefined ? 0 : first.offsetBytes + first.sizeBytes;
    for (let i = this.assembler.next + 1; i < segments.length; i++) {
      const s = segments[i];
      if (s === undefined || !first || s.offsetBytes + s.sizeBytes - first.offsetBytes > maxBytes) break;
      end = s.offsetBytes + s.sizeBytes;
    }
    return end;
  }

  private async attempt(mirror: Mirror): Promise<void> {
    let held = await this.assembler.heldFrom(mirror.url);
    if (held.sizeBytes > 0 && held.validator === undefined) {
      await this.assembler.drop(); // no strong validator: resuming could splice two versions
      held = { sizeBytes: 0, validator: undefined };
    }
    const segment = this.options.plan.segments[this.assembler.next];
    if (segment === undefined) return;
    const startBytes = segment.offsetBytes + held.sizeBytes;
    const endBytes = this.requestEnd();
    const label = `download ${mirror.url} bytes ${startBytes}-${endBytes - 1}`;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    this.options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const meter = new SpeedMeter(this.options.limits ?? DOWNLOAD_DEFAULTS.limits, this.clock, label);
      this.requests += 1;
      const req = { url: mirror.url, startBytes, endBytes, totalSizeBytes: this.options.plan.totalSizeBytes, ifRange: held.validator };
      const res = await openRange(req, meter, controller, label, this.options.epochNowMs ?? Date.now);
      if (res.status === 200 && held.sizeBytes > 0) {
        throw new DownloadError('DOWNLOAD_CHANGED', `${label}: 200 instead of 206 after If-Range: the file changed; fetching segment ${this.assembler.next} again`, 'restart-segment');
      }
      if (res.status === 200) throw new DownloadError('DOWNLOAD_NO_RANGE', `${label}: the server ignores Range (200); trying the next mirror`, 'next-mirror');
      if (held.sizeBytes > 0 && res.validator !== held.validator) {
        throw new DownloadError('DOWNLOAD_CHANGED', `${label}: validator changed from ${held.validator ?? '-'} to ${res.validator ?? '-'}; fetching segment ${this.assembler.next} again`, 'restart-segment');
      }
      this.assembler.newPiece();
      this.streamStartedMs = this.clock.nowMs();
      await this.stream(res.body, meter, controller, { url: mirror.url, validator: res.validator, startBytes, endBytes, label });
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  private async stream(
    body: NodeJS.ReadableStream, meter: SpeedMeter, controller: AbortController,
    r: { url: string; validator: string | undefined; startBytes: number; endBytes: number; label: string },
  ): Promise<void> {
    const cap = this.options.bandwidthCap;
    const queue = new BodyQueue(body, cap === undefined ? BODY_QUEUE_BYTES : Math.max(CAPPED_QUEUE_MIN_BYTES, Math.min(BODY_QUEUE_BYTES, cap.burstBytes)));
    let posBytes = r.startBytes;
    for (;;) {
      let chunk: Buffer | undefined;
      try {
        chunk = await meter.wait(queue.next(), () => controller.abort());
      } catch (err) {
        if (err instanceof DownloadError) throw err;
        throw new DownloadError('DOWNLOAD_CUT', `${r.label}: connection lost after ${posBytes - r.startBytes} bytes; resuming`, 'retry', { cause: err });
      }
      if (chunk === undefined) break;
      this.receivedBytes += chunk.length;
      meter.received(chunk.length);
      this.rate.add(chunk.length);
      const wanted = chunk.subarray(0, r.endBytes - posBytes);
      await this.assembler.absorb(wanted, r.url, r.validator);
      posBytes += wanted.length;
      this.emitProgress();
      await this.bucket?.take(chunk.length, this.options.signal); // after absorbing: a kill while throttled loses nothing held
      if (wanted.length < chunk.length) {
        throw new DownloadError('DOWNLOAD_OVERLONG', `${r.label}: the server sent more than the ${r.endBytes - r.startBytes} bytes asked for; trying the next mirror`, 'next-mirror');
      }
    }
    if (posBytes < r.endBytes) {
      throw new DownloadError('DOWNLOAD_CUT', `${r.label}: body ended after ${posBytes - r.startBytes} of ${r.endBytes - r.startBytes} bytes; resuming`, 'retry');
    }
  }

  private emitProgress(): void {
    const plan = this.options.plan;
    const next = plan.segments[this.assembler.next];
    const doneBytes = (next?.offsetBytes ?? plan.totalSizeBytes) + this.assembler.heldBytes();
    const rateBytesPerSecond = this.rate.rateBytesPerSecond();
    const etaMs = rateBytesPerSecond > 0 ? ((plan.totalSizeBytes - doneBytes) * 1000) / rateBytesPerSecond : undefined;
    this.emit('progress', { doneBytes, totalSizeBytes: plan.totalSizeBytes, receivedBytes: this.receivedBytes, rateBytesPerSecond, etaMs });
  }
}
