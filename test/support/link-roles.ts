/**
 * The two processes of a run over a constrained link (see link-run.ts), each
 * started inside its own network namespace:
 *   server JSON  serve the payload on the link address; print {"port"}; on stdin end print {"bodyBytesSent"} and exit.
 *   client JSON  proxy 127.0.0.1 -> server (cut every cutEveryMs, counting bytes), download through it; print the result.
 * The payload is pseudo-random bytes from a seed, so both sides make the same file without sending it.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Download } from '../../agent/src/download/index.js';
import { RangeServer } from './range-server.js';
import { TcpProxy } from './tcp-proxy.js';
import { planFor, randomBytesSeeded } from './download.js';

function num(v: unknown, key: string): number {
  const x: unknown = typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined;
  if (typeof x !== 'number') throw new Error(`link-roles: ${key} must be a number`);
  return x;
}

function str(v: unknown, key: string): string {
  const x: unknown = typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined;
  if (typeof x !== 'string') throw new Error(`link-roles: ${key} must be a string`);
  return x;
}

async function server(args: unknown): Promise<void> {
  const s = await new RangeServer(randomBytesSeeded(num(args, 'sizeBytes'), num(args, 'seed')), { host: str(args, 'host') }).start();
  process.stdout.write(`${JSON.stringify({ port: Number(new URL(s.url()).port) })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    process.stdout.write(`${JSON.stringify({ bodyBytesSent: s.bodyBytesSent, requests: s.requests.length })}\n`);
    void s.close().then(() => process.exit(0));
  });
}

async function client(args: unknown): Promise<void> {
  const body = randomBytesSeeded(num(args, 'sizeBytes'), num(args, 'seed'));
  const proxy = await new TcpProxy({ targetHost: str(args, 'host'), targetPort: num(args, 'port'), cutEveryMs: num(args, 'cutEveryMs') }).start();
  const stateDir = mkdtempSync(join(tmpdir(), 'ota-link-'));
  const plan = planFor(body, [`http://${proxy.address()}/file`], num(args, 'segmentBytes'));
  const hash = createHash('sha256');
  const retries: string[] = [];
  const startedMs = performance.now();
  try {
    const d = new Download({ plan, stateDir, onSegment: async (_i, bytes) => { hash.update(bytes); } });
    d.on('retry', (e) => retries.push(e.code));
    const summary = await d.run();
    const seconds = (performance.now() - startedMs) / 1000;
    const hashOk = hash.digest('hex') === createHash('sha256').update(body).digest('hex');
    process.stdout.write(`${JSON.stringify({
      proxyDownBytes: proxy.bytesDown, proxyUpBytes: proxy.bytesUp, cuts: proxy.cuts, connections: proxy.connections,
      requests: summary.requests, receivedBytes: summary.receivedBytes, retries, seconds, hashOk,
    })}\n`);
  } finally {
    await proxy.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const [role, json] = process.argv.slice(2);
const parsed: unknown = JSON.parse(json ?? '{}');
(role === 'server' ? server(parsed) : client(parsed)).catch((err: unknown) => {
  process.stderr.write(`link-roles ${role ?? '?'}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
