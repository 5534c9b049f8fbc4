/** The transport against a real mosquitto on 127.0.0.1 (skipped when mosquitto is missing). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseHealthConfig, runHealth, spawnCommand } from '../../../agent/src/health/index.js';
import { Machine, NoticeInbox } from '../../../agent/src/machine/index.js';
import type { Offered } from '../../../agent/src/machine/index.js';
import { parseTransportConfig, Transport } from '../../../agent/src/transport/index.js';
import type { ConnectionState, NoticeMessage, StatusFields, TransportDeps } from '../../../agent/src/transport/index.js';
import { FakePorts, MemoryJournal, fakeNotice, freshDevice } from '../../support/fake-device.js';
import { haveMosquitto, startMosquitto } from '../../support/mosquitto.js';
import type { Broker } from '../../support/mosquitto.js';
import { Observer } from '../../support/mqtt-observer.js';
import { missingTools } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { until as pollUntil } from '../../support/sim-fleet.js';

const skip = haveMosquitto() ? undefined : missingReason(missingTools('MQTT transport tests', 'mosquitto'));
let broker: Broker;
const open: Transport[] = [];
const BACKOFF = { baseMs: 40, capMs: 400, stableAfterMs: 60_000 };
const status: StatusFields = { version: '1.0.0', hardware: 'hw', slots: { A: 'good', B: 'bad' }, booted: 'A', phase: 'idle', progress: null, lastError: null, lastUpdate: null, bootId: 'boot-1' };

function device(deviceId: string, extra: Record<string, unknown> = {}, deps: TransportDeps = {}): Transport {
  const t = new Transport(parseTransportConfig({ url: broker.url, deviceId, hardware: 'test-board', backoff: BACKOFF, connectTimeoutMs: 2000, ...extra }), deps);
  open.push(t);
  return t;
}

function until(t: Transport, match: (s: ConnectionState) => boolean, timeoutMs = 10_000): Promise<ConnectionState> {
  return new Promise((resolve, reject) => {
    const check = (s: ConnectionState): void => { if (match(s)) { done(); resolve(s); } };
    const timer = setTimeout(() => { done(); reject(new Error(`state never matched; now ${JSON.stringify(t.connection)}`)); }, timeoutMs);
    const done = (): void => { clearTimeout(timer); t.off('state', check); };
    t.on('state', check);
    check(t.connection);
  });
}
const connected = (s: ConnectionState): boolean => s.kind === 'connected';

test.before(async () => { if (skip === undefined) broker = await startMosquitto(); });
test.after.each(async () => { await Promise.all(open.splice(0).map((t) => t.stop())); });
test.after(async () => { if (skip === undefined) await broker.stop(); });

const it = gate(skip);

it('connects, announces online and publishes a retained status document', async () => {
  const t = device('dev-status');
  t.publishStatus(status);
  t.start();
  await until(t, connected);
  const o = await Observer.open(broker.url);
  try {
    const seen = await o.waitFor((m) => m.topic === 'ota/v1/dev-status/status');
    assert.ok(seen.retain, 'retained');
    const doc: unknown = JSON.parse(seen.text);
    const updatedAt = typeof doc === 'object' && doc !== null && 'updatedAt' in doc ? doc.updatedAt : undefined;
    assert.type(updatedAt, 'string');
    assert.equal(doc, { ...status, schema: 'ota-status/1', deviceId: 'dev-status', seq: 1, updatedAt });
    assert.is((await o.waitFor((m) => m.topic === 'ota/v1/dev-status/availability')).text, 'online');
    t.publishStatus({ ...status, phase: 'installing', progress: 0.5 });
    const next = await o.waitFor((m) => m.topic === 'ota/v1/dev-status/status' && m.text.includes('"seq":2'));
    assert.match(next.text, '"phase":"installing"');
  } finally { await o.close(); }
});

it('MQTT 3.1.1 fallback connects and publishes status', async () => {
  const t = device('dev-v4', { protocolVersion: 4 });
  t.publishStatus(status);
  t.start();
  await until(t, connected);
  const o = await Observer.open(broker.url);
  try {
    assert.match((await o.waitFor((m) => m.topic === 'ota/v1/dev-v4/status')).text, '"version":"1.0.0"');
  } finally { await o.close(); }
});

it('the LWT says offline when the device process is killed', async () => {
  const o = await Observer.open(broker.url);
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../support/transport-child.js', import.meta.url)), broker.url, 'dev-lwt'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('connected')) resolve(); }));
    await o.waitFor((m) => m.topic === 'ota/v1/dev-lwt/availability' && m.text === 'online');
    const from = o.seen.length;
    child.kill('SIGKILL');
    await o.waitFor((m) => m.topic === 'ota/v1/dev-lwt/availability' && m.text === 'offline', 10_000, from);
  } finally { child.kill('SIGKILL'); await o.close(); }
});

it('a failed resync is retried with backoff while connected, and its document arrives as a resync notice', async () => {
  let calls = 0;
  const t = device('dev-resync', {}, {
    random: () => 0.5,
    resync: {
      fetchCurrent: async () => {
        calls++;
        if (calls < 3) throw new Error(`mirror down (${calls})`);
        return Buffer.from('current rollout');
      },
    },
  });
  const warnings: string[] = [];
  t.on('warning', (w) => warnings.push(w));
  const notice = new Promise<NoticeMessage>((resolve) => t.once('notice', resolve));
  t.start();
  const got = await notice;
  assert.equal([got.source, Buffer.from(got.payload).toString()], ['resync', 'current rollout']);
  assert.is(calls, 3);
  assert.equal(warnings, [
    'rollout resync over HTTPS failed: mirror down (1); retrying in 20 ms',
    'rollout resync over HTTPS failed: mirror down (2); retrying in 40 ms',
  ], 'full-jitter backoff: random() * base * 2^attempt');
});

it('reconnects with full-jitter backoff after the broker dies, republishes status, resyncs each time', async () => {
  let resyncs = 0;
  const states: ConnectionState[] = [];
  const t = device('dev-reconnect', {}, { random: () => 0.5, resync: { fetchCurrent: async () => { resyncs++; return undefined; } } });
  t.on('state', (s) => states.push(s));
  t.publishStatus(status);
  t.start();
  await until(t, connected);
  await broker.kill();
  await until(t, (s) => s.kind === 'waiting' && s.attempt >= 3);
  await broker.restart();
  await until(t, connected);
  const waits = states.flatMap((s) => (s.kind === 'waiting' ? [s.delayMs] : []));
  assert.equal(waits.slice(0, 3), [20, 40, 80], 'delay = random() * min(cap, base * 2^attempt) with random = 0.5');
  assert.ok(waits.every((d) => d <= BACKOFF.capMs / 2));
  assert.is(resyncs, 2, 'one rollout resync per connect');
  const o = await Observer.open(broker.url);
  try {
    assert.match((await o.waitFor((m) => m.topic === 'ota/v1/dev-reconnect/status')).text, '"seq":2', 'republished after the broker lost it');
  } finally { await o.close(); }
});

it('a QoS 1 notice sent while the device was offline arrives on reconnect (persistent session)', async () => {
  const first = device('dev-session');
  first.start();
  await until(first, connected);
  await first.stop();
  const o = await Observer.open(broker.url);
  await o.publish('ota/v1/dev-session/notice', 'notice-while-offline');
  await o.close();
  const second = device('dev-session');
  const got = new Promise<NoticeMessage>((resolve) => second.on('notice', resolve));
  second.start();
  const state = await until(second, connected);
  assert.equal(state, { kind: 'connected', sessionPresent: true });
  const notice = await got;
  assert.is(notice.source, 'notice');
  assert.is(Buffer.from(notice.payload).toString(), 'notice-while-offline');
});

it('duplicate, stale and retained re-deliveries of notices are ignored; installs run one at a time', async () => {
  const ports = new FakePorts(freshDevice(), () => undefined);
  const machine = new Machine(ports, new MemoryJournal());
  await machine.resume(new AbortController().signal);
  const identify = async (b: Uint8Array): Promise<{ version: number; sequence: number }> => {
    const n: unknown = JSON.parse(Buffer.from(b).toString());
    if (typeof n !== 'object' || n === null || !('sequence' in n) || typeof n.sequence !== 'number') throw new Error('not a notice');
    return { version: n.sequence, sequence: n.sequence };
  };
  const inbox = new NoticeInbox({ identify, machine, signal: new AbortController().signal });
  const offered: Offered[] = [];
  const t = device('dev-dedupe');
  t.on('notice', (m) => { void inbox.offer(m.payload).then((r) => offered.push(r)); });
  t.start();
  await until(t, connected);
  const o = await Observer.open(broker.url);
  try {
    const n = (seq: number): string => Buffer.from(fakeNotice({ version: seq, sequence: seq, image: `img-${seq}` })).toString();
    for (const seq of [2, 2, 1, 3]) await o.publish('ota/v1/dev-dedupe/notice', n(seq));
    await o.publish('ota/v1/rollout/test-board', n(3), { retain: true });
    await pollUntil(() => offered.length >= 5, 30_000, 'the five notices offered to the inbox');
    await inbox.settled();
    assert.equal(offered.filter((r) => r === 'duplicate' || r === 'stale').length, 3, JSON.stringify(offered));
    assert.equal(ports.device.reports.map((r) => r.sequence), [2, 3], 'each new notice installed once, in order');
    await o.publish('ota/v1/rollout/test-board', '', { retain: true });
  } finally { await o.close(); }
});

it('the fleet round-trip answers when connected and fails within its deadline when the broker is gone', async () => {
  const t = device('dev-ping');
  t.start();
  await t.roundTrip(AbortSignal.timeout(10_000));
  await broker.kill();
  try {
    await t.roundTrip(AbortSignal.timeout(300));
    assert.unreachable('round-trip without a broker');
  } catch (err) {
    assert.match(String(err), 'round-trip to the broker failed');
  } finally {
    await broker.restart();
  }
});

it('the health check\'s required fleet check runs over the real transport', async () => {
  const t = device('dev-health');
  t.start();
  const config = parseHealthConfig({ deadlineMs: 5000, checks: [{ kind: 'command', argv: ['true'] }] });
  const up = await runHealth(config, { run: spawnCommand, fleet: t });
  assert.equal(up.checks.map((c) => [c.name, c.ok]), [['command:true', true], ['fleet', true]]);
  await broker.kill();
  try {
    const down = await runHealth({ ...config, deadlineMs: 400 }, { run: spawnCommand, fleet: t });
    assert.is(down.healthy, false, 'a device that cannot reach the fleet is not healthy');
    assert.equal(down.checks.map((c) => [c.name, c.ok]), [['command:true', true], ['fleet', false]]);
  } finally {
    await broker.restart();
  }
});

it('a CONNACK refusal does not end reconnecting', async () => {
  const strict = await startMosquitto({ allowAnonymous: false });
  try {
    const t = new Transport(parseTransportConfig({ url: strict.url, deviceId: 'dev-refused', hardware: 'test-board', backoff: BACKOFF }), { random: () => 0.5 });
    open.push(t);
    const refusals: string[] = [];
    t.on('state', (s) => { if (s.kind === 'waiting') refusals.push(s.lastError); });
    t.start();
    await until(t, (s) => s.kind === 'waiting' && s.attempt >= 3);
    assert.ok(refusals.length >= 3);
    assert.match(refusals[0] ?? '', /authori[sz]ed/i);
  } finally { await strict.stop(); }
});

test.run();
