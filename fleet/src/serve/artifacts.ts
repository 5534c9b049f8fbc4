/**
 * The artifact server of the embedded default: a directory over HTTP with what
 * a resumable downloader needs (Range, strong ETag, Last-Modified, If-Range), and
 * If-None-Match (304) for the devices' resync of `rollout/<hardware>.json`.
 * Production puts artifacts on any HTTP server or CDN with Range support.
 */
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** A running artifact server. */
export interface ArtifactServer {
  /** Base URL, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly port: number;
  /** Bytes of response bodies sent so far. */
  bytesSent(): number;
  close(): Promise<void>;
}

/** A byte range, both ends inclusive. */
export interface ByteRange { start: number; end: number }

/** Serve files under `root` on `host:port` (port 0 picks a free one). */
export async function serveArtifacts(root: string, options: { host?: string; port?: number } = {}): Promise<ArtifactServer> {
  const base = path.resolve(root);
  let sent = 0;
  const server = http.createServer((req, res) => {
    handle(base, req, res, (n) => { sent += n; }).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(`error: ${String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    port,
    bytesSent: () => sent,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function handle(base: string, req: http.IncomingMessage, res: http.ServerResponse, count: (n: number) => void): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const file = resolveInside(base, new URL(req.url ?? '/', 'http://x').pathname);
  const stats = file === undefined ? undefined : await fsp.stat(file).catch(() => undefined);
  if (file === undefined || stats === undefined || !stats.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  const etag = strongEtag(stats);
  const headers: http.OutgoingHttpHeaders = {
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': stats.mtime.toUTCString(),
    'Content-Type': 'application/octet-stream',
    'Cache-Control': 'no-transform',
  };
  if (matchesNoneMatch(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' }).end();
    return;
  }
  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'];
  const useRange = rangeHeader !== undefined && (ifRange === undefined || ifRange === etag || ifRange === headers['Last-Modified']);
  let range: ByteRange = { start: 0, end: stats.size - 1 };
  let status = 200;
  if (useRange) {
    const parsed = parseRange(rangeHeader, stats.size);
    if (parsed === undefined) {
      res.writeHead(416, { 'Content-Range': `bytes */${stats.size}` }).end();
      return;
    }
    range = parsed;
    status = 206;
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${stats.size}`;
  }
  headers['Content-Length'] = String(range.end - range.start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || stats.size === 0) {
    res.end();
    return;
  }
  const stream = createReadStream(file, { start: range.start, end: range.end });
  stream.on('data', (chunk) => count(chunk.length));
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** True when an If-None-Match header names `etag` (or `*`): the client holds the current representation. */
function matchesNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => { const v = t.trim(); return v === '*' || v === etag || v === `W/${etag}`; });
}

/** The path of `urlPath` under `base`, or undefined when it escapes it. */
function resolveInside(base: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const full = path.resolve(base, `.${path.posix.normalize(`/${decoded}`)}`);
  return full === base || full.startsWith(base + path.sep) ? full : undefined;
}

/** A strong validator that changes whenever the file is replaced or rewritten. */
function strongEtag(stats: Stats): string {
  return `"${stats.ino.toString(16)}-${stats.size.toString(16)}-${Math.trunc(stats.mtimeMs * 1000).toString(16)}"`;
}

/**
 * Parse a single-range `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a size.
 * Multiple ranges are not served (undefined: the caller answers 416).
 */
export function parseRange(header: string, sizeBytes: number): ByteRange | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  const first = m[1] ?? '';
  const last = m[2] ?? '';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || sizeBytes === 0) return undefined;
    return { start: Math.max(0, sizeBytes - suffix), end: sizeBytes - 1 };
  }
  const start = Number(first);
  const end = last === '' ? sizeBytes - 1 : Math.min(Number(last), sizeBytes - 1);
  if (!Number.isSafeInteger(start) || start >= sizeBytes || end < start) return undefined;
  return { start, end };
}
