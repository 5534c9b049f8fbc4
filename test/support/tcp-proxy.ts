/**
 * A small TCP proxy for latency and cuts: listens (127.0.0.1 by default),
 * forwards to one target, counts the bytes it moves each way, can delay each
 * chunk, and can drop every connection at once or on a period.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Proxy settings. */
export interface TcpProxyOptions {
  readonly targetHost: string;
  readonly targetPort: number;
  readonly listenHost?: string;
  /** Delay added to every chunk, each way. */
  readonly latencyMs?: number;
  /** Drop every open connection this often. */
  readonly cutEveryMs?: number;
  /** Drop every open connection once, when target-to-client bytes first reach this count (the chunk that reaches it is not forwarded). */
  readonly cutAtBytesDown?: number;
}

/** The proxy; `bytesDown` counts target-to-client bytes as read from the target, `bytesUp` the other way. */
export class TcpProxy {
  bytesDown = 0;
  /** `bytesDown` when `cutAtBytesDown` cut (the chunk that crossed it included); undefined before. */
  bytesDownAtCut: number | undefined;
  bytesUp = 0;
  connections = 0;
  cuts = 0;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly server: Server;
  private cutTimer: NodeJS.Timeout | undefined;
  private port = 0;

  constructor(private readonly options: TcpProxyOptions) {
    this.server = createServer((client) => this.accept(client));
  }

  /** Listen on an ephemeral port. */
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, this.options.listenHost ?? '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    if (this.options.cutEveryMs !== undefined) this.cutTimer = setInterval(() => this.cutAll(), this.options.cutEveryMs);
    return this;
  }

  /** host:port clients connect to. */
  address(): string {
    return `${this.options.listenHost ?? '127.0.0.1'}:${this.port}`;
  }

  /** Drop every open connection (both sides, at once). */
  cutAll(): void {
    if (this.pairs.size > 0) this.cuts += 1;
    for (const [a, b] of this.pairs) { a.destroy(); b.destroy(); }
    this.pairs.clear();
  }

  /** Stop. */
  async close(): Promise<void> {
    if (this.cutTimer !== undefined) clearInterval(this.cutTimer);
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections += 1;
    const upstream = connect(this.options.targetPort, this.options.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const end = (): void => { this.pairs.delete(pair); client.destroy(); upstream.destroy(); };
    this.forward(upstream, client, (n) => {
      const cutAt = this.options.cutAtBytesDown;
      const crosses = cutAt !== undefined && this.bytesDown < cutAt && this.bytesDown + n >= cutAt;
      this.bytesDown += n;
      if (crosses) {
        this.bytesDownAtCut = this.bytesDown;
        this.cutAll();
      }
    });
    this.forward(client, upstream, (n) => { this.bytesUp += n; });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  /** Copy `from` to `to` with backpressure, counting bytes as read, after the latency. */
  private forward(from: Socket, to: Socket, count: (n: number) => void): void {
    const latencyMs = this.options.latencyMs ?? 0;
    from.on('data', (chunk: Buffer) => {
      count(chunk.length);
      if (from.destroyed) return; // counted, then cut
      const write = (): void => {
        if (to.destroyed) return;
        if (!to.write(chunk)) { from.pause(); to.once('drain', () => from.resume()); }
      };
      if (latencyMs > 0) setTimeout(write, latencyMs); else write();
    });
  }
}
