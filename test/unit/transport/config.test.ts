/** Transport config and topic layout. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTransportConfig, topicsFor } from '../../../agent/src/transport/index.js';
import { DEFAULT_BACKOFF } from '../../../agent/src/time/index.js';

test('defaults: MQTT 5, a week of session, default backoff', () => {
  const c = parseTransportConfig({ url: 'mqtts://broker.example:8883', deviceId: 'dev-1', hardware: 'rpi4' });
  assert.equal(c, { url: 'mqtts://broker.example:8883', deviceId: 'dev-1', hardware: 'rpi4', protocolVersion: 5,
    backoff: DEFAULT_BACKOFF, sessionExpirySec: 604800, keepaliveSec: 60, connectTimeoutMs: 30000 });
});

test('TLS files and credentials are kept; cert without key is refused', () => {
  const c = parseTransportConfig({ url: 'mqtts://b:8883', deviceId: 'd', hardware: 'h', username: 'u', password: 'p',
    tls: { caFile: 'ca.pem', certFile: 'dev.pem', keyFile: 'dev.key' } });
  assert.equal([c.username, c.password, c.tls], ['u', 'p', { caFile: 'ca.pem', certFile: 'dev.pem', keyFile: 'dev.key' }]);
  assert.throws(() => parseTransportConfig({ url: 'mqtts://b', deviceId: 'd', hardware: 'h', tls: { certFile: 'x' } }), /certFile and keyFile/);
});

for (const [bad, why] of [
  [{ url: 'http://b', deviceId: 'd', hardware: 'h' }, /mqtt\.url/],
  [{ url: 'mqtt://b', deviceId: 'a/b', hardware: 'h' }, /mqtt\.deviceId/],
  [{ url: 'mqtt://b', deviceId: 'd', hardware: '#' }, /mqtt\.hardware/],
  [{ url: 'mqtt://b', deviceId: 'd', hardware: 'h', protocolVersion: 3 }, /protocolVersion/],
  [{ url: 'mqtt://b', deviceId: 'd', hardware: 'h', backoff: { baseMs: 0 } }, /baseMs/],
  [{ url: 'mqtt://b', deviceId: 'd', hardware: 'h', keepAlive: 5 }, /mqtt\.keepAlive: is not a known field/],
  [{ url: 'mqtt://b', deviceId: 'd', hardware: 'h', tls: { ca: 'x' } }, /mqtt\.tls\.ca: is not a known field/],
  [{ url: 'mqtt://b', deviceId: 'd', hardware: 'h', backoff: { maxMs: 5 } }, /mqtt\.backoff\.maxMs/],
] as const) {
  test(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseTransportConfig(bad), why));
}

test('topic layout', () => {
  assert.equal(topicsFor('dev-1', 'rpi4'), {
    status: 'ota/v1/dev-1/status', availability: 'ota/v1/dev-1/availability', notice: 'ota/v1/dev-1/notice',
    ping: 'ota/v1/dev-1/ping', rollout: 'ota/v1/rollout/rpi4',
  });
});

test.run();
