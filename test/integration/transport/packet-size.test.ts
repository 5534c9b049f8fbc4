/**
 * An oversized notice never fills the agent's memory, against a real mosquitto:
 * with MQTT 5 the client announces its Maximum Packet Size and the broker drops
 * the message for it (the connection stays up and the next notice arrives); with
 * MQTT 3.1.1 the client cuts the connection as soon as the packet's header
 * announces the size, and says why.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_PACKET_BYTES, parseTransportConfig, Transport } from '../../../agent/src/transport/index.js';
import type { ConnectionState, NoticeMessage } from '../../../agent/src/transport/index.js';
import { haveMosquitto, startMosquitto } from '../../support/mosquitto.js';
import type { Broker } from '../../support/mosquitto.js';
import { Observer } from '../../support/mqtt-observer.js';
import { missingTools } from '../../support/tools.js';

const skip = !haveMosquitto() && missingTools('MQTT packet size tests', 'mosquitto').length > 0;
const it = skip ? test.skip : test;
let broker: Broker;
const open: Transport[] = [];
const BIG = 'x'.repeat(4 * 1024 * 1024);

function device(deviceId: string, protocolVersion: 4 | 5): { t: Transport; notices: string[]; states: ConnectionState[]; warnings: string[] } {
  const t = new Transport(parseTransportConfig({ url: broker.url, deviceId, hardware: 'test-board', protocolVersion, backoff: { baseMs: 40, capMs: 400, stableAfterMs: 60_000 }, connectTimeoutMs: 2000 }));
  open.push(t);
  const notices: string[] = [];
  const states: ConnectionState[] = [];
  const warnings: string[] = [];
  t.on('notice', (m: NoticeMessage) => notices.push(m.payload.byteLength > 100 ? `${m.payload.byteLength} bytes` : Buffer.from(m.payload).toString()));
  t.on('state', (s) => states.push(s));
  t.on('warning', (w) => warnings.push(w));
  return { t, notices, states, warnings };
}

function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { clearInterval(poll); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
    const poll = setInterval(() => { if (check()) { clearInterval(poll); clearTimeout(timer); resolve(); } }, 10);
  });
}

test.before(async () => { if (!skip) broker = await startMosquitto(); });
test.after.each(async () => { await Promise.all(open.splice(0).map((t) => t.stop())); });
test.after(async () => { if (!skip) await broker.stop(); });

it('MQTT 5: the broker drops a notice over the announced maximum; the connection stays and the next notice arrives', async () => {
  const d = device('dev-big5', 5);
  d.t.start();
  await until(() => d.states.some((s) => s.kind === 'connected'), 'connected');
  const o = await Observer.open(broker.url, 'ota/v1/none');
  try {
    await o.publish('ota/v1/dev-big5/notice', BIG);
    await o.publish('ota/v1/dev-big5/notice', 'small');
    await until(() => d.notices.includes('small'), 'the small notice');
    assert.equal(d.notices, ['small'], 'the oversized notice reached the client');
    assert.equal(d.states.map((s) => s.kind), ['connecting', 'connected'], 'the connection was cut');
    assert.ok(MAX_PACKET_BYTES < BIG.length);
  } finally { await o.close(); }
});

it('MQTT 3.1.1: the client cuts the connection at the oversized packet\'s header and says why; the notice never arrives', async () => {
  const d = device('dev-big4', 4);
  d.t.start();
  await until(() => d.states.some((s) => s.kind === 'connected'), 'connected');
  const o = await Observer.open(broker.url, 'ota/v1/none');
  try {
    await o.publish('ota/v1/dev-big4/notice', BIG);
    await until(() => d.warnings.some((w) => w.includes('over the')), 'the size warning');
    assert.match(d.warnings.join('\n'), `over the ${MAX_PACKET_BYTES}-byte limit`);
    await until(() => d.states.some((s) => s.kind === 'waiting'), 'the connection closed');
    assert.equal(d.notices, [], 'the oversized notice reached the agent');
  } finally { await o.close(); }
});

test.run();
