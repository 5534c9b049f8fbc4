/**
 * Reconnect timing through the injected clock, against a port where nothing
 * listens on 127.0.0.1: every retry goes through `clock.schedule` with the
 * full-jitter delay, and `stop()` cancels the pending retry (no timer left behind).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTransportConfig, Transport } from '../../../agent/src/transport/index.js';
import type { ConnectionState } from '../../../agent/src/transport/index.js';
import type { Clock } from '../../../agent/src/time/index.js';
import { freePort } from '../../support/mosquitto.js';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';

/** A clock whose timers fire only when the test says so. */
class ManualClock implements Clock {
  nowValueMs = 0;
  readonly pending = new Map<number, { fn: () => void; delayMs: number }>();
  readonly delays: number[] = [];
  private next = 0;
  nowMs(): number { return this.nowValueMs; }
  schedule(fn: () => void, delayMs: number): () => void {
    const id = this.next++;
    this.pending.set(id, { fn, delayMs });
    this.delays.push(delayMs);
    return () => { this.pending.delete(id); };
  }
  /** Fire every pending timer (advancing the clock by the longest delay). */
  fire(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    this.nowValueMs += Math.max(0, ...due.map((d) => d.delayMs));
    for (const d of due) d.fn();
  }
}

function waiting(t: Transport): Promise<ConnectionState> {
  return new Promise((resolve) => {
    const check = (s: ConnectionState): void => { if (s.kind === 'waiting') { t.off('state', check); resolve(s); } };
    t.on('state', check);
  });
}

test('each retry waits random() * min(cap, base * 2^attempt) on the injected clock; stop cancels the retry', async () => {
  const port = await freePort();
  const clock = new ManualClock();
  const randoms = [0.25, 0.5, 0.75, 0.99];
  let i = 0;
  const t = new Transport(parseTransportConfig({ url: `mqtt://127.0.0.1:${port}`, deviceId: 'dev-clock', hardware: 'hw',
    backoff: { baseMs: 1000, capMs: 5000, stableAfterMs: 60_000 } }), { clock, random: () => randoms[i++ % randoms.length] ?? 0 });
  const states: string[] = [];
  t.on('state', (s) => states.push(s.kind));
  for (let attempt = 0; attempt < 4; attempt++) {
    const w = waiting(t);
    if (attempt === 0) t.start(); else clock.fire();
    const s = await w;
    assert.is(s.kind === 'waiting' && s.attempt, attempt + 1);
    assert.match(s.kind === 'waiting' ? s.lastError : '', 'ECONNREFUSED');
  }
  assert.equal(clock.delays, [250, 1000, 3000, 4950]);
  assert.is(clock.pending.size, 1, 'one retry pending, never more');
  await t.stop();
  assert.is(clock.pending.size, 0, 'stop cancelled it');
  assert.equal(t.connection, { kind: 'stopped' });
  assert.equal(states.slice(0, 4), ['connecting', 'waiting', 'connecting', 'waiting']);
});

test('round-trips that give up leave no listener behind (bounded memory)', async () => {
  const port = await freePort();
  const clock = new ManualClock();
  const t = new Transport(parseTransportConfig({ url: `mqtt://127.0.0.1:${port}`, deviceId: 'dev-bounded', hardware: 'hw' }), { clock, random: () => 0.5 });
  t.start();
  const baseline = t.listenerCount('state');
  for (let i = 0; i < 50; i++) {
    const controller = new AbortController();
    const pending = t.roundTrip(controller.signal).then(() => 'answered', () => 'failed');
    controller.abort();
    assert.is(await pending, 'failed');
  }
  assert.is(t.listenerCount('state'), baseline);
  await t.stop();
});

test('stop() during a connect attempt that gets no CONNACK leaves no timer behind: the process exits', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((sock) => { sockets.push(sock); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  // A child connects (CONNACK timeout 10 min), stops once the broker side accepted, then must exit
  // on its own: a timer left running would keep it alive for the whole timeout.
  const transportUrl = new URL('../../../agent/src/transport/index.js', import.meta.url).href;
  const script = `import { parseTransportConfig, Transport } from ${JSON.stringify(transportUrl)};
    const t = new Transport(parseTransportConfig({ url: 'mqtt://127.0.0.1:${port}', deviceId: 'dev-silent', hardware: 'hw', connectTimeoutMs: 600000 }));
    t.start();
    process.stdin.once('data', () => { void t.stop(); process.stdin.destroy(); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 500 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.is(sockets.length, 1, 'the child connected');
  child.stdin.write('stop\n');
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(guard);
  assert.is(code, 0, 'exited by itself (SIGKILL by the guard means a timer was left running)');
  for (const sock of sockets) sock.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

test('an unreadable TLS file is a failed attempt that is retried, not a crash', async () => {
  const clock = new ManualClock();
  const t = new Transport(parseTransportConfig({ url: 'mqtts://127.0.0.1:1', deviceId: 'dev-tls-missing', hardware: 'hw',
    tls: { certFile: '/nonexistent/device.pem', keyFile: '/nonexistent/device.key' } }), { clock, random: () => 0.5 });
  const w = waiting(t);
  t.start();
  const s = await w;
  assert.match(s.kind === 'waiting' ? s.lastError : '', 'ENOENT');
  assert.is(clock.pending.size, 1);
  await t.stop();
  assert.is(clock.pending.size, 0);
});

test.run();
