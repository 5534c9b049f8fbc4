/**
 * The defaults work together: an agent at its default (MQTT 5) reaches `ota-fleet serve`'s
 * broker, which speaks only 3.1.1, by falling back once the CONNACK refuses 5 (instead of
 * retrying 5 forever); and a round-trip that cannot connect names the broker's own refusal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTransportConfig, Transport } from '../../../agent/src/transport/index.js';
import { startBroker } from '../../../fleet/src/serve/index.js';
import { freePort } from '../../support/mosquitto.js';
import { agentOk, fleetOk, writeImage } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';

const BACKOFF = { baseMs: 20, capMs: 100, stableAfterMs: 60_000 };

test('the default MQTT 5 falls back to 3.1.1 when the broker refuses 5, says so, and round-trips', async () => {
  const broker = await startBroker();
  const t = new Transport(parseTransportConfig({ url: broker.url, deviceId: 'dev-5', hardware: 'hw', backoff: BACKOFF }));
  const warnings: string[] = [];
  t.on('warning', (w) => warnings.push(w));
  try {
    t.start();
    await t.roundTrip(AbortSignal.timeout(20_000));
    assert.equal(warnings.filter((w) => /refused MQTT 5 \(.*protocol version.*\): falling back to MQTT 3\.1\.1/i.test(w)).length, 1, warnings.join('\n'));
  } finally {
    await t.stop();
    await broker.close();
  }
});

test('a round-trip that never connects names the reason the last attempt failed', async () => {
  const port = await freePort();
  const t = new Transport(parseTransportConfig({ url: `mqtt://127.0.0.1:${port}`, deviceId: 'dev-x', hardware: 'hw', backoff: BACKOFF }));
  const stop = new AbortController();
  t.on('state', (s) => { if (s.kind === 'waiting') stop.abort(); });
  try {
    t.start();
    const err = await t.roundTrip(stop.signal).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.match(err.message, /not connected: .*ECONNREFUSED.*\(MQTT 5\)/);
  } finally {
    await t.stop();
  }
});

test('sim create takes --protocol-version like ota-fleet; --mqtt-protocol still works, with a warning', async () => {
  const d = tempDir();
  try {
    await fleetOk(d.dir, 'keygen', '--out', 'keys');
    writeImage(d.dir, 'v1.img', 1024 * 1024);
    const base = ['sim', 'create', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--mqtt-url', 'mqtt://127.0.0.1:1883'];
    const level = (dev: string): unknown => Reflect.get(Object(Reflect.get(Object(JSON.parse(readFileSync(join(d.dir, dev, 'agent.json'), 'utf8'))), 'mqtt')), 'protocolVersion');
    const now = await agentOk(d.dir, ...base, 'a', '--protocol-version', '4');
    assert.is(now.stderr, '');
    assert.is(level('a'), 4);
    const old = await agentOk(d.dir, ...base, 'b', '--mqtt-protocol', '4');
    assert.match(old.stderr, /--mqtt-protocol is deprecated: use --protocol-version/);
    assert.is(level('b'), 4);
    const help = await agentOk(d.dir, 'sim', 'create', '--help');
    assert.not.match(help.stdout, /mqtt-protocol/, 'the old name is hidden');
  } finally { d.cleanup(); }
});

test.run();
