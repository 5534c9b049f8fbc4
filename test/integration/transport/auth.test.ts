/**
 * The transport's credentials against a real mosquitto: TLS with a client
 * certificate (CA, server and device certificates made by openssl here), and
 * username/password (mosquitto_passwd). Wrong credentials are refused by CONNACK
 * and the transport keeps retrying.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTransportConfig, Transport } from '../../../agent/src/transport/index.js';
import type { ConnectionState } from '../../../agent/src/transport/index.js';
import { haveMosquitto, readableByBroker, startMosquitto } from '../../support/mosquitto.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

const skip = haveMosquitto() ? missingReason(missingTools('MQTT credential tests', 'openssl', 'mosquitto_passwd')) : 'missing mosquitto';
const it = gate(skip);
const t = tempDir('ota-mqtt-auth-');
const BACKOFF = { baseMs: 40, capMs: 200, stableAfterMs: 60_000 };
test.after(() => t.cleanup());

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: t.dir, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 and a device certificate, all P-256. */
function makeCerts(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ota-test-ca');
  writeFileSync(join(t.dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, cn] of [['server', '127.0.0.1'], ['device', 'dev-tls']] as const) {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', ...(name === 'server' ? ['-extfile', 'san.ext'] : []));
  }
}

function until(tr: Transport, match: (s: ConnectionState) => boolean): Promise<ConnectionState> {
  return new Promise((resolve, reject) => {
    const check = (s: ConnectionState): void => { if (match(s)) { done(); resolve(s); } };
    const timer = setTimeout(() => { done(); reject(new Error(`state never matched; now ${JSON.stringify(tr.connection)}`)); }, 10_000);
    const done = (): void => { clearTimeout(timer); tr.off('state', check); };
    tr.on('state', check);
    check(tr.connection);
  });
}

it('TLS with a client certificate: connects; without the certificate it is refused and keeps retrying', async () => {
  makeCerts();
  const f = (n: string): string => join(t.dir, n);
  readableByBroker(t.dir, f('ca.pem'), f('server.pem'), f('server.key'));
  const broker = await startMosquitto({ extraConfig: [`cafile ${f('ca.pem')}`, `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`,
    'require_certificate true', 'use_identity_as_username true'] });
  const url = `mqtts://127.0.0.1:${broker.port}`;
  const good = new Transport(parseTransportConfig({ url, deviceId: 'dev-tls', hardware: 'hw', backoff: BACKOFF,
    tls: { caFile: f('ca.pem'), certFile: f('device.pem'), keyFile: f('device.key') } }));
  const bad = new Transport(parseTransportConfig({ url, deviceId: 'dev-nocert', hardware: 'hw', backoff: BACKOFF, tls: { caFile: f('ca.pem') } }));
  try {
    good.start();
    await good.roundTrip(AbortSignal.timeout(10_000));
    bad.start();
    await until(bad, (s) => s.kind === 'waiting' && s.attempt >= 2);
  } finally {
    await Promise.all([good.stop(), bad.stop()]);
    await broker.stop();
  }
});

it('username and password: right ones connect, wrong ones are refused and retried', async () => {
  const passwd = join(t.dir, 'passwd');
  execFileSync('mosquitto_passwd', ['-b', '-c', passwd, 'dev-pw', 's3cret'], { stdio: 'ignore' });
  readableByBroker(t.dir, passwd);
  const broker = await startMosquitto({ allowAnonymous: false, extraConfig: [`password_file ${passwd}`] });
  const config = (password: string) => parseTransportConfig({ url: broker.url, deviceId: `dev-pw-${password}`, hardware: 'hw',
    username: 'dev-pw', password, backoff: BACKOFF });
  const good = new Transport(config('s3cret'));
  const bad = new Transport(config('wrong'));
  const refusals: string[] = [];
  bad.on('state', (s) => { if (s.kind === 'waiting') refusals.push(s.lastError); });
  try {
    good.start();
    await until(good, (s) => s.kind === 'connected');
    bad.start();
    await until(bad, (s) => s.kind === 'waiting' && s.attempt >= 2);
    assert.match(refusals[0] ?? '', /not authori[sz]ed|bad user name or password/i);
  } finally {
    await Promise.all([good.stop(), bad.stop()]);
    await broker.stop();
  }
});

test.run();
