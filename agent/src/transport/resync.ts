/**
 * The rollout resync over HTTP(S): after every (re)connect the agent fetches the
 * current signed rollout document of its hardware from the artifact mirrors,
 * since a broker can lose the retained copy (restart without persistence, a
 * cleared topic, a failover). The fleet writes the same bytes it publishes
 * retained to `<mirror>/rollout/<hardware>.json` (docs/mqtt.md); the agent feeds
 * them into the notice inbox like an MQTT notice (same verification).
 * It asks with If-None-Match, so an unchanged document costs a 304 and no
 * verification. Plain node:http / node:https (in memory at start anyway): the
 * downloader's node-fetch runs its module code on first use, and the resync runs
 * at every connect, so with node-fetch the idle agent would carry it for good.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { OtaError, describe } from '../errors/index.js';
import type { RolloutResync } from './client.js';
import { checkLevel } from './topics.js';
import { DEFAULT_CHANNEL, checkChannelName } from '../formats/index.js';

/** Where the current rollout document of `hardware` (on `channel`: `rollout/<hardware>/<channel>.json` unless `stable`) lives, relative to an artifact mirror's base URL. */
export function rolloutDocumentPath(hardware: string, channel: string = DEFAULT_CHANNEL): string {
  const hw = checkLevel(hardware, 'hardware');
  return channel === DEFAULT_CHANNEL ? `rollout/${hw}.json` : `rollout/${hw}/${checkLevel(checkChannelName(channel, 'channel'), 'channel')}.json`;
}

/** A signed notice is a few KiB; a body past this is not one (a misconfigured mirror). */
export const MAX_ROLLOUT_DOCUMENT_BYTES = 1024 * 1024;

/** One answer of a mirror. */
export type MirrorAnswer =
  | { readonly kind: 'document'; readonly body: Uint8Array; readonly etag: string | undefined }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'none' };

/** A GET of `url` with `headers`; resolves to the status, ETag and body (bounded), or rejects. */
export type HttpGet = (url: string, headers: Readonly<Record<string, string>>, signal: AbortSignal) =>
  Promise<{ readonly status: number; readonly etag: string | undefined; readonly body: Uint8Array }>;

/** Options of the resync. */
export interface HttpResyncOptions {
  /** Artifact mirror base URLs, in order of preference (`artifacts.urls`). */
  readonly baseUrls: readonly string[];
  readonly hardware: string;
  /** The channel followed (default `stable`; followChannel changes it). */
  readonly channel?: string;
  /** One mirror's request may take this long (headers and body). */
  readonly timeoutMs?: number;
  /** Default: node:http / node:https. */
  readonly get?: HttpGet;
}

/**
 * The resync port on HTTP(S) mirrors: the first mirror with a document wins; a
 * 304 means the document is the one fetched last time (the inbox had it); 404 at
 * every mirror means nothing is current. Any other failure at a mirror moves to
 * the next; when no mirror answered, the fetch fails (transient) and the
 * transport retries it with backoff.
 */
export class HttpRolloutResync implements RolloutResync {
  private urls: readonly string[] = [];
  /** ETag of the last document each URL served. */
  private readonly etags = new Map<string, string>();
  private readonly get: HttpGet;

  constructor(private readonly options: HttpResyncOptions) {
    this.followChannel(options.channel ?? DEFAULT_CHANNEL);
    this.get = options.get ?? nodeGet;
  }

  /** Fetch the rollout document of `channel` from now on. */
  followChannel(channel: string): void {
    const path = rolloutDocumentPath(this.options.hardware, channel);
    this.urls = this.options.baseUrls.map((u) => new URL(path, u.endsWith('/') ? u : `${u}/`).toString());
  }

  /** The URLs asked, in order. */
  get documentUrls(): readonly string[] { return this.urls; }

  async fetchCurrent(signal: AbortSignal): Promise<Uint8Array | undefined> {
    const failures: string[] = [];
    let answered = false;
    for (const url of this.urls) {
      signal.throwIfAborted();
      let answer: MirrorAnswer;
      try {
        answer = await this.ask(url, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        failures.push(`${url}: ${describe(err)}`);
        continue;
      }
      if (answer.kind === 'document') return answer.body;
      if (answer.kind === 'unchanged') return undefined;
      answered = true;
    }
    if (failures.length === 0) return undefined;
    throw new OtaError('RESYNC_FAILED', `rollout document: ${failures.join('; ')}${answered ? ' (other mirrors have none)' : ''}: retrying`, { transient: true });
  }

  /** One mirror: GET with If-None-Match, bounded by the timeout. */
  private async ask(url: string, outer: AbortSignal): Promise<MirrorAnswer> {
    const local = new AbortController();
    const onAbort = (): void => local.abort(outer.reason);
    outer.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => local.abort(new OtaError('RESYNC_TIMEOUT', `no answer in ${this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`, { transient: true })),
      this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      const etag = this.etags.get(url);
      const res = await this.get(url, etag === undefined ? {} : { 'if-none-match': etag }, local.signal);
      if (res.status === 304 && etag !== undefined) return { kind: 'unchanged' };
      if (res.status === 404) {
        this.etags.delete(url);
        return { kind: 'none' };
      }
      if (res.status !== 200) throw new OtaError('RESYNC_HTTP', `HTTP ${res.status}`, { transient: true });
      if (res.etag === undefined || res.etag.startsWith('W/')) this.etags.delete(url);
      else this.etags.set(url, res.etag);
      return { kind: 'document', body: res.body, etag: res.etag };
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    }
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** GET over node:http(s): the system's CA store verifies HTTPS (NODE_EXTRA_CA_CERTS adds a private CA). */
export const nodeGet: HttpGet = (url, headers, signal) => new Promise((resolve, reject) => {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  // agent: false: one request per connect; a pooled keep-alive socket would sit open (and in memory) while idle.
  const req = request(url, { method: 'GET', headers: { ...headers, 'accept-encoding': 'identity' }, signal, agent: false }, (res) => {
    readBody(res).then((body) => {
      const etag = res.headers.etag;
      resolve({ status: res.statusCode ?? 0, etag: typeof etag === 'string' ? etag : undefined, body });
    }, reject);
  });
  req.on('error', (err) => reject(signal.aborted && signal.reason instanceof Error ? signal.reason : err));
  req.end();
});

/** The body of `res`, refused past MAX_ROLLOUT_DOCUMENT_BYTES (never buffers more). */
function readBody(res: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ROLLOUT_DOCUMENT_BYTES) {
        // Settle first: destroying the response emits `aborted` at once.
        reject(new OtaError('RESYNC_TOO_BIG', `body larger than ${MAX_ROLLOUT_DOCUMENT_BYTES} bytes: not a rollout document`));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(new OtaError('RESYNC_CUT', 'the body was cut', { transient: true })));
  });
}
