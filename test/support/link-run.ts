/**
 * A download over a constrained link: makes two namespaces joined by a
 * rate-limited veth (netns.ts), serves a payload in one, downloads it in the
 * other through a proxy that cuts every connection on a period, and returns
 * the byte counts. Only the namespaces' own addresses are contacted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLink } from './netns.js';

const ROLES = fileURLToPath(new URL('./link-roles.js', import.meta.url));

/** What to run. */
export interface LinkRunParams {
  readonly sizeBytes: number;
  readonly segmentBytes: number;
  readonly rateKbit: number;
  readonly cutEveryMs: number;
  readonly seed: number;
}

/** What was measured. */
export interface LinkRunResult {
  /** TCP payload bytes the client-side proxy read from the link (server to client), and sent (client to server). */
  readonly proxyDownBytes: number;
  readonly proxyUpBytes: number;
  /** Body bytes the server handed to its kernel (includes bytes still queued when a cut came). */
  readonly serverBodyBytes: number;
  /** All bytes of all frames the server's veth end transmitted (IP/TCP headers, retransmissions). */
  readonly serverTxBytes: number;
  readonly cuts: number;
  readonly connections: number;
  readonly requests: number;
  readonly retries: readonly string[];
  readonly seconds: number;
  readonly hashOk: boolean;
}

/** Reads a child's stdout as JSON lines, one at a time. */
class JsonLines {
  private readonly queue: string[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private buffered = '';

  constructor(child: ChildProcess, private readonly what: string) {
    child.stdout?.on('data', (b: Buffer) => {
      this.buffered += b.toString('utf8');
      const parts = this.buffered.split('\n');
      this.buffered = parts.pop() ?? '';
      this.queue.push(...parts.filter((l) => l.trim() !== ''));
      this.waiter?.();
    });
    child.on('close', () => { this.ended = true; this.waiter?.(); });
  }

  async next(): Promise<unknown> {
    while (this.queue.length === 0) {
      if (this.ended) throw new Error(`${this.what} exited without output`);
      await new Promise<void>((r) => { this.waiter = r; });
    }
    return JSON.parse(this.queue.shift() ?? '');
  }
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined;
}

function n(v: unknown, key: string): number {
  const x = field(v, key);
  if (typeof x !== 'number') throw new Error(`link run: ${key} missing from ${JSON.stringify(v)}`);
  return x;
}

/** Run once; returns `{ skip }` where namespaces cannot be made. */
export async function runOverLink(p: LinkRunParams): Promise<LinkRunResult | { skip: string }> {
  const link = createLink({ rateKbit: p.rateKbit });
  if ('skip' in link) return link;
  const children: ChildProcess[] = [];
  try {
    const common = { sizeBytes: p.sizeBytes, seed: p.seed, host: link.serverAddress };
    const srv = spawn('ip', [...link.exec(link.serverNs).slice(1), process.execPath, ROLES, 'server', JSON.stringify(common)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(srv);
    const srvLines = new JsonLines(srv, 'server');
    const port = n(await srvLines.next(), 'port');
    const clientArgs = { ...common, port, segmentBytes: p.segmentBytes, cutEveryMs: p.cutEveryMs };
    const cli = spawn('ip', [...link.exec(link.clientNs).slice(1), process.execPath, ROLES, 'client', JSON.stringify(clientArgs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(cli);
    const result = await new JsonLines(cli, 'client').next();
    const serverTxBytes = link.serverTxBytes();
    srv.stdin?.end();
    const stats = await srvLines.next();
    const retries = field(result, 'retries');
    return {
      proxyDownBytes: n(result, 'proxyDownBytes'), proxyUpBytes: n(result, 'proxyUpBytes'), serverBodyBytes: n(stats, 'bodyBytesSent'),
      serverTxBytes, cuts: n(result, 'cuts'), connections: n(result, 'connections'), requests: n(result, 'requests'),
      retries: Array.isArray(retries) ? retries.map(String) : [], seconds: n(result, 'seconds'), hashOk: field(result, 'hashOk') === true,
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    link.remove();
  }
}
