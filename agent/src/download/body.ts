/**
 * Reads a response body in flowing mode into a bounded queue. A paused Node
 * stream drops what it holds when the connection fails, so bytes that already
 * crossed the link would be fetched again; read eagerly, they are handed out
 * before the error. The queue pauses the stream past `highWaterBytes`, so
 * memory stays bounded when the consumer is slower than the link.
 */

/** A body as a queue of chunks. */
export class BodyQueue {
  private readonly chunks: Buffer[] = [];
  private queuedBytes = 0;
  private paused = false;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly body: NodeJS.ReadableStream, private readonly highWaterBytes: number) {
    body.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.chunks.push(b);
      this.queuedBytes += b.length;
      if (this.queuedBytes >= this.highWaterBytes && !this.paused) { this.paused = true; body.pause(); }
      this.notify();
    });
    body.on('end', () => { this.ended = true; this.notify(); });
    body.on('error', (error: unknown) => { this.failure ??= { error }; this.notify(); });
    body.on('close', () => { if (!this.ended) this.failure ??= { error: new Error('connection closed before the body ended') }; this.notify(); });
  }

  /** The next chunk, or undefined at the end; rejects with the connection's error once every byte before it was handed out. */
  async next(): Promise<Buffer | undefined> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.length;
        if (this.paused && this.queuedBytes < this.highWaterBytes / 2) { this.paused = false; this.body.resume(); }
        return chunk;
      }
      if (this.failure !== undefined) throw this.failure.error;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
