/**
 * A real HTTP server (node:http on 127.0.0.1, port 0, or any address given)
 * serving one file with Range, ETag and Last-Modified, that misbehaves on
 * request: each request takes the next queued fault (or `always`). It records
 * every request's headers and counts the bytes it writes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';

/** A way to misbehave on one request. */
export type Fault =
  /** Send the head and `afterBytes` of the body, then drop the connection. */
  | { kind: 'cut'; afterBytes: number }
  /** Never answer (headers never come). */
  | { kind: 'stall-headers' }
  /** Send the head and `afterBytes`, then send nothing more (connection stays open). */
  | { kind: 'stall-body'; afterBytes: number }
  /** Send the body at `bytesPerSecond`. */
  | { kind: 'trickle'; bytesPerSecond: number }
  /** Send `extraBytes` more than the range, chunked (no Content-Length). */
  | { kind: 'overlong'; extraBytes: number }
  /** Declare a Content-Length larger than the range. */
  | { kind: 'long-length' }
  /** Answer 200 with the whole file, ignoring Range. */
  | { kind: 'ignore-range' }
  /** Answer 206 even when If-Range no longer matches (a broken cache). */
  | { kind: 'ignore-if-range' }
  /** Answer 206 with a Content-Range shifted by one byte. */
  | { kind: 'bad-range' }
  /** Claim Content-Encoding: gzip. */
  | { kind: 'encoding' }
  /** Answer with a bare status (e.g. 429 with a Retry-After, 500, 503, 404). */
  | { kind: 'status'; status: number; retryAfter?: string };

/** One request as the server saw it. */
export interface SeenRequest {
  readonly path: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  readonly acceptEncoding: string | undefined;
  readonly fault: Fault | undefined;
}

/** Server settings. */
export interface RangeServerOptions {
  readonly host?: string;
  /** `strong` (default), `weak`, or `none`. */
  readonly etag?: 'strong' | 'weak' | 'none';
  readonly lastModified?: boolean;
  /** Pace every body at this rate (the link), in 10 ms ticks. */
  readonly paceBytesPerSecond?: number;
}

function etagOf(body: Buffer, generation: number): string {
  return `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}-${generation}"`;
}

/** How far behind its schedule a paced sender may catch up at once (the link's burst). */
const LINK_BURST_MS = 20;

const sleepMs = (ms: number): Promise<void> => (ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms)));

/** The misbehaving range server. */
export class RangeServer {
  /** Faults for the next requests, one each, in order. */
  readonly faults: (Fault | undefined)[] = [];
  /** Fault for every request once `faults` is empty. */
  always: Fault | undefined;
  readonly requests: SeenRequest[] = [];
  /** Body bytes handed to the kernel without error (a write that fails on a dead connection does not count). */
  bodyBytesSent = 0;
  private body: Buffer;
  private generation = 0;
  private modified = new Date(Date.UTC(2026, 0, 1));
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  constructor(body: Buffer, private readonly options: RangeServerOptions = {}) {
    this.body = body;
    this.server = createServer((req, res) => { void this.handle(req, res); });
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  /** Listen; resolves with the server. */
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, this.options.host ?? '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? (addr satisfies AddressInfo).port : 0;
    return this;
  }

  /** URL of the file (`path` lets several mirrors share one server). */
  url(path = '/file'): string {
    const host = this.options.host ?? '127.0.0.1';
    return `http://${host}:${this.port}${path}`;
  }

  /** Replace the file (a new ETag and Last-Modified); pass the same bytes to change only the validators. */
  setBody(body: Buffer): void {
    this.body = body;
    this.generation += 1;
    this.modified = new Date(this.modified.getTime() + 1000);
  }

  /** Current validators. */
  etag(): string { return etagOf(this.body, this.generation); }
  lastModified(): string { return this.modified.toUTCString(); }

  /** Drop every open connection. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Stop listening and drop connections. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private headersFor(): Record<string, string> {
    const h: Record<string, string> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (this.options.etag !== 'none') h['etag'] = `${this.options.etag === 'weak' ? 'W/' : ''}${this.etag()}`;
    if (this.options.lastModified !== false) h['last-modified'] = this.lastModified();
    return h;
  }

  /** The byte range [start, end) the request gets, or undefined for the whole file. */
  private rangeFor(req: IncomingMessage, fault: Fault | undefined): { start: number; end: number } | undefined {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m === null || fault?.kind === 'ignore-range') return undefined;
    const ifRange = req.headers['if-range'];
    const strong = this.options.etag === 'strong' || this.options.etag === undefined;
    const matches = ifRange === undefined || (strong && ifRange === this.etag()) || ifRange === this.lastModified();
    if (!matches && fault?.kind !== 'ignore-if-range') return undefined;
    const start = Number(m[1]);
    const end = m[2] === '' ? this.body.length : Math.min(Number(m[2]) + 1, this.body.length);
    return { start, end };
  }

  private drained(res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = this.faults.length > 0 ? this.faults.shift() : this.always;
    const h = req.headers;
    const ifRange = h['if-range'];
    this.requests.push({ path: req.url ?? '', range: h.range, ifRange: typeof ifRange === 'string' ? ifRange : undefined, acceptEncoding: h['accept-encoding'], fault });
    if (fault?.kind === 'stall-headers') return;
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
      res.end();
      return;
    }
    const range = this.rangeFor(req, fault);
    const { start, end } = range ?? { start: 0, end: this.body.length };
    const headers = this.headersFor();
    if (range !== undefined) {
      const shift = fault?.kind === 'bad-range' ? 1 : 0;
      headers['content-range'] = `bytes ${start + shift}-${end - 1 + shift}/${this.body.length}`;
    }
    if (fault?.kind === 'encoding') headers['content-encoding'] = 'gzip';
    if (fault?.kind !== 'overlong') headers['content-length'] = String(end - start + (fault?.kind === 'long-length' ? 100 : 0));
    res.writeHead(range === undefined ? 200 : 206, headers);
    let payload = this.body.subarray(start, end);
    if (fault?.kind === 'overlong') payload = Buffer.concat([payload, Buffer.alloc(fault.extraBytes, 0x5a)]);
    await this.send(res, payload, fault);
  }

  private async send(res: ServerResponse, payload: Buffer, fault: Fault | undefined): Promise<void> {
    const limit = fault?.kind === 'cut' || fault?.kind === 'stall-body' ? Math.min(fault.afterBytes, payload.length) : payload.length;
    const rate = fault?.kind === 'trickle' ? fault.bytesPerSecond : this.options.paceBytesPerSecond;
    // Paced like a link of fixed capacity (a token bucket): chunks of about 4 ms of data, each due when the
    // previous one has gone through. A sender that fell behind (a busy event loop on a loaded machine) may
    // catch up LINK_BURST_MS worth at most, never its whole backlog at once: a link never runs faster than
    // its rate, and a burst would only fill the receiver's socket buffers.
    const tick = rate === undefined ? 64 * 1024 : Math.max(256, Math.floor(rate / 250));
    let dueMs = Date.now();
    for (let pos = 0; pos < limit && !res.destroyed; pos += tick) {
      const chunk = payload.subarray(pos, Math.min(pos + tick, limit));
      if (rate !== undefined) {
        dueMs = Math.max(dueMs, Date.now() - LINK_BURST_MS);
        await sleepMs(dueMs - Date.now());
        dueMs += (chunk.length * 1000) / rate;
      }
      if (res.destroyed) break;
      const drained = res.write(chunk, (err) => { if (err === undefined || err === null) this.bodyBytesSent += chunk.length; });
      if (!drained) await this.drained(res);
    }
    if (res.destroyed) return;
    if (fault?.kind === 'cut') {
      await new Promise<void>((r) => res.write('', () => r()));
      res.socket?.destroy();
    } else if (fault?.kind !== 'stall-body') {
      res.end();
    }
  }
}
