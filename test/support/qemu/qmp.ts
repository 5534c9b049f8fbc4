/**
 * A minimal QMP (QEMU Machine Protocol) client over a unix socket:
 * negotiate capabilities, then run one command at a time.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One QMP reply: `return` on success, `error` on failure; events are skipped. */
type Reply = { ok: true; value: unknown } | { ok: false; message: string };

function parseReply(line: string): Reply | undefined {
  const msg: unknown = JSON.parse(line);
  if (typeof msg !== 'object' || msg === null) return undefined;
  if ('return' in msg) return { ok: true, value: msg.return };
  if ('error' in msg) {
    const err = msg.error;
    const desc = typeof err === 'object' && err !== null && 'desc' in err ? String(err.desc) : JSON.stringify(err);
    return { ok: false, message: desc };
  }
  return undefined; // greeting or asynchronous event
}

/** A connected QMP session. */
export class QmpClient {
  readonly #socket: Socket;
  #buffer = '';
  #waiting: ((reply: Reply) => void)[] = [];
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiting.splice(0)) w({ ok: false, message: 'QMP connection closed' });
    });
    socket.on('error', () => undefined); // reported through 'close'
  }

  /** Connects to `path` (retrying while QEMU creates it) and negotiates capabilities. */
  static async connect(path: string, timeoutMs: number): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.execute('qmp_capabilities');
        return client;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`QMP socket ${path}: cannot connect within ${timeoutMs} ms`, { cause: err });
        await sleep(50);
      }
    }
  }

  /** Runs one QMP command; resolves with its `return` value, rejects with its error. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const run = this.#chain.then(() => this.#send(command, args));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.destroy();
  }

  #send(command: string, args: Record<string, unknown> | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    return new Promise((resolve, reject) => {
      this.#waiting.push((reply) => (reply.ok ? resolve(reply.value) : reject(new Error(`QMP ${command}: ${reply.message}`))));
      this.#socket.write(`${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`);
    });
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      const reply = line === '' ? undefined : parseReply(line);
      if (reply !== undefined) this.#waiting.shift()?.(reply);
      newline = this.#buffer.indexOf('\n');
    }
  }
}
