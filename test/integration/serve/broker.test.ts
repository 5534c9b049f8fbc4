import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { startBroker, type EmbeddedBroker } from '../../../fleet/src/serve/index.js';

let broker: EmbeddedBroker;
test.before(async () => { broker = await startBroker(); });
test.after(async () => { await broker.close(); });

test('the embedded broker keeps retained messages and delivers QoS 1', async () => {
  const pub = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'pub', reconnectPeriod: 0 });
  await pub.publishAsync('ota/v1/test/status', 'state-1', { qos: 1, retain: true });
  const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: 'sub', reconnectPeriod: 0 });
  const got = new Promise<string>((resolve) => sub.on('message', (_topic, payload) => resolve(payload.toString())));
  await sub.subscribeAsync('ota/v1/test/status', { qos: 1 });
  assert.is(await got, 'state-1');
  await pub.endAsync();
  await sub.endAsync();
});

test('aedes speaks MQTT 3.1.1 only: an MQTT 5 CONNECT is refused (agents fall back to 3.1.1)', async () => {
  try {
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: 'v5', reconnectPeriod: 0 });
    await c.endAsync();
    assert.unreachable('aedes accepted MQTT 5: the fallback note in the README is stale');
  } catch (err) {
    assert.match(String(err), /protocol version/i);
  }
});

test('the broker URL names loopback and the port it listens on', () => {
  assert.is(broker.url, `mqtt://127.0.0.1:${broker.port}`);
  assert.ok(broker.port > 0);
});

test.run();
