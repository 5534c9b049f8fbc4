// planProvision composes and validates without writing; checkIdentity is doctor's check of what it wrote.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateAgentConfig } from '../../../agent/src/config/index.js';
import { canonicalBytes } from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { checkIdentity, planProvision } from '../../../agent/src/provision/index.js';
import type { ProvisionInput } from '../../../agent/src/provision/index.js';
import { loadTrustState } from '../../../agent/src/trust/index.js';
import { repoPath } from '../../support/boot-device.js';
import { rootV1 } from '../../support/trust.js';
import { tempDir } from '../../support/tools.js';

const pem = (name: string): { bytes: Buffer; source: string } => ({ bytes: readFileSync(repoPath(`test/fixtures/provision/${name}`)), source: name });
const root = { bytes: Buffer.from(canonicalBytes(rootV1())), source: 'root.json' };
const board = { env: '/etc/fw_env.config', slots: { A: { device: '/dev/mmcblk0p2' }, B: { device: '/dev/mmcblk0p3' } } };
const input = (over: Partial<ProvisionInput> = {}): ProvisionInput =>
  ({ dataDir: '/data/ota-agent', base: board, deviceId: 'pi-1', hardware: 'rpi-4', root, ...over });

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof OtaError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'accepted';
}

test('the plan writes the key 0600 first and agent.json last, with the TLS paths in the data directory', () => {
  const plan = planProvision(input({ brokerUrl: 'mqtts://fleet.example.com:8883', cert: pem('device.pem'), key: pem('device.key'), ca: pem('device.pem'),
    base: { ...board, mqtt: { url: 'mqtt://old:1883', username: 'u' } } }));
  assert.equal(plan.writes.map((w) => [w.name, w.mode.toString(8)]), [['device.key', '600'], ['device.pem', '644'], ['ca.pem', '644'], ['root.json', '644'], ['agent.json', '644']]);
  assert.equal(plan.config.mqtt?.tls, { caFile: '/data/ota-agent/ca.pem', certFile: '/data/ota-agent/device.pem', keyFile: '/data/ota-agent/device.key' });
  assert.is(plan.config.mqtt?.url, 'mqtts://fleet.example.com:8883');
  assert.is(plan.config.mqtt?.username, 'u', 'the provisioning file\'s other mqtt fields are kept');
  const written = plan.writes.at(-1)?.bytes;
  assert.ok(typeof written === 'string');
  assert.equal(validateAgentConfig(JSON.parse(written), '/data/ota-agent/agent.json'), plan.config, 'agent.json reads back as the validated config');
});

test('what the plan refuses, typed', () => {
  const cases: [Partial<ProvisionInput>, RegExp][] = [
    [{ base: { ...board, dataDir: '/elsewhere' } }, /^PROVISION_INVALID: .*dataDir "\/elsewhere" is not the data directory \/data\/ota-agent/],
    [{ cert: pem('device.pem'), key: pem('device.key') }, /^PROVISION_INVALID: .*need a broker/],
    [{ brokerUrl: 'mqtts://h:8883', cert: pem('device.pem'), key: pem('other.key') }, /^PROVISION_INVALID: provision: other\.key is not the private key of device\.pem/],
    [{ brokerUrl: 'mqtts://h:8883', cert: pem('device.key'), key: pem('device.key') }, /^PROVISION_INVALID: provision: device\.key is not a PEM certificate/],
    [{ brokerUrl: 'mqtts://h:8883' }, /^PROVISION_INVALID: .*mqtts but the device has no client certificate or password/],
    [{ root: { bytes: Buffer.from('{}'), source: 'r.json' } }, /r\.json/],
    [{ hardware: 'has space' }, /^CONFIG_INVALID: [\s\S]*hardware/],
  ];
  for (const [over, expected] of cases) assert.match(refusal(() => planProvision(input(over))), expected);
  const { root: _, ...noRoot } = input();
  assert.match(refusal(() => planProvision(noRoot)), /^PROVISION_INVALID: .*no trusted root/);
  assert.is(refusal(() => planProvision(input({ brokerUrl: 'mqtts://h:8883', base: { ...board, mqtt: { password: 'p' } } }))), 'accepted', 'a password is enough');
});

test('the provisioning file example in docs/agent-config.md plans, with the command line the doc gives', () => {
  const doc = readFileSync(repoPath('docs/agent-config.md'), 'utf8');
  const blocks = [...doc.matchAll(/```json provision\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.is(blocks.length, 1);
  const parsed: unknown = JSON.parse(blocks[0] ?? '');
  assert.ok(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'files' in parsed);
  const { files: _, ...base } = parsed;
  const plan = planProvision({ dataDir: '/var/lib/ota-agent', base, deviceId: 'pi-0042', root, cert: pem('device.pem'), key: pem('device.key'), ca: pem('device.pem') });
  assert.is(plan.config.deviceId, 'pi-0042');
  assert.is(plan.config.mqtt?.tls?.keyFile, '/var/lib/ota-agent/device.key');
});

test('checkIdentity: offline, password, certificate and key present, matching and 0600', async () => {
  const t = tempDir();
  try {
    const cert = join(t.dir, 'device.pem');
    const key = join(t.dir, 'device.key');
    const config = (mqtt: Record<string, unknown> | undefined): ReturnType<typeof validateAgentConfig> =>
      validateAgentConfig({ deviceId: 'pi-1', hardware: 'rpi-4', dataDir: t.dir, ...board, ...(mqtt === undefined ? {} : { mqtt }) }, join(t.dir, 'agent.json'));
    const withCert = config({ url: 'mqtts://h:8883', tls: { certFile: cert, keyFile: key } });
    assert.equal(await checkIdentity(config(undefined)), ['ok', 'device pi-1 (hardware rpi-4), offline (no broker)']);
    assert.is((await checkIdentity(config({ url: 'mqtts://h:8883', password: 'p' })))[0], 'ok');
    assert.match((await checkIdentity(config({ url: 'mqtts://h:8883' })))[1], 'no client certificate or password is configured: run ota-agent provision');
    assert.equal(await checkIdentity(withCert), ['fail', `device pi-1 (hardware rpi-4): missing ${cert} and ${key}: run ota-agent provision (see docs/agent-config.md)`]);
    writeFileSync(cert, pem('device.pem').bytes);
    writeFileSync(key, pem('device.key').bytes, { mode: 0o600 });
    chmodSync(key, 0o600);
    assert.is((await checkIdentity(withCert))[0], 'ok');
    chmodSync(key, 0o640);
    assert.match((await checkIdentity(withCert))[1], `is readable by others (mode 640): chmod 600 ${key}`);
    writeFileSync(key, pem('other.key').bytes, { mode: 0o600 });
    chmodSync(key, 0o600);
    try {
      await checkIdentity(withCert);
      assert.unreachable('a key of another certificate');
    } catch (err) {
      assert.ok(err instanceof OtaError && err.code === 'PROVISION_INVALID', String(err));
    }
  } finally {
    t.cleanup();
  }
});

test('an unprovisioned trust store names the command that provisions it', async () => {
  const t = tempDir();
  try {
    await loadTrustState(t.dir).then(() => assert.unreachable('no root'), (err: unknown) => {
      assert.ok(err instanceof OtaError && err.code === 'TRUST_NOT_PROVISIONED');
      assert.match(err.message, 'ota-agent provision --root ROOT.json');
    });
  } finally {
    t.cleanup();
  }
});

test.run();
