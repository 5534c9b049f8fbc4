// `ota-agent provision` through the CLI's main on a simulated device: the identity and config land on the
// data directory, a second run without --force is refused with every file byte-identical, --force replaces,
// and doctor names what is missing before and passes after.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../support/boot-device.js';
import { agent, agentOk, fleetOk, writeImage } from '../../support/sim-flow.js';
import { snapshot } from '../../support/trust.js';
import { tempDir } from '../../support/tools.js';

const MiB = 1024 * 1024;
const fixture = (name: string): string => repoPath(`test/fixtures/provision/${name}`);

/** A simulated device booted on v1 in `dir/dev`, and a provisioning file `dir/prov.json` for the data directory `dir/pdata`. */
async function setup(dir: string): Promise<void> {
  await fleetOk(dir, 'keygen', '--out', 'keys');
  writeImage(dir, 'v1.img', 2 * MiB);
  await agentOk(dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1', '--env', 'single');
  const dev = (f: string): string => join(dir, 'dev', f);
  writeFileSync(join(dir, 'prov.json'), JSON.stringify({
    hardware: 'sim-board',
    env: dev('fw_env.config'), cmdlinePath: dev('cmdline'), bootloader: 'simulator', bootScriptPath: dev('boot.cmd'),
    slots: { A: { device: dev('slot-A.img') }, B: { device: dev('slot-B.img') } },
    mqtt: { url: 'mqtts://127.0.0.1:8883' },
    files: { root: 'keys/root.json', cert: fixture('device.pem'), key: fixture('device.key') },
  }));
}

const provision = (dir: string, ...extra: string[]): ReturnType<typeof agent> =>
  agent(dir, 'provision', '--from', 'prov.json', '--data-dir', 'pdata', ...extra);

/** doctor on the provisioned config, the broker skipped (nothing listens): its failed check names. */
async function doctorFails(dir: string): Promise<{ code: number; failed: string[]; text: string }> {
  const r = await agent(dir, '--config', 'pdata/agent.json', 'doctor', '--no-broker');
  const failed = r.stdout.split('\n').filter((l) => l.startsWith('fail')).map((l) => l.slice(5, l.indexOf(':')));
  return { code: r.code, failed, text: r.stdout + r.stderr };
}

test('provision writes the identity and config; doctor names what is missing before and passes after', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    const before = await agent(t.dir, '--config', 'pdata/agent.json', 'doctor', '--no-broker');
    assert.is(before.code, 78, 'not provisioned: EX_CONFIG');
    assert.match(before.stderr, /agent config .*pdata\/agent\.json: not found \(ENOENT\): provision the device .*\[CONFIG_MISSING\]/, before.stderr);

    const r = await agentOk(t.dir, ...['provision', '--from', 'prov.json', '--data-dir', 'pdata', '--device-id', 'pi-0042', '--mirror', 'http://127.0.0.1:8080/', '--mirror', 'http://127.0.0.1:8081/']);
    assert.match(r.stdout, 'provisioned device pi-0042 (hardware sim-board)');
    const pdata = join(t.dir, 'pdata');
    const config: unknown = JSON.parse(readFileSync(join(pdata, 'agent.json'), 'utf8'));
    assert.equal(config, {
      hardware: 'sim-board', env: join(t.dir, 'dev/fw_env.config'), cmdlinePath: join(t.dir, 'dev/cmdline'), bootloader: 'simulator', bootScriptPath: join(t.dir, 'dev/boot.cmd'),
      slots: { A: { device: join(t.dir, 'dev/slot-A.img') }, B: { device: join(t.dir, 'dev/slot-B.img') } },
      mqtt: { url: 'mqtts://127.0.0.1:8883', tls: { certFile: join(pdata, 'device.pem'), keyFile: join(pdata, 'device.key') } },
      dataDir: pdata, deviceId: 'pi-0042', artifacts: { urls: ['http://127.0.0.1:8080/', 'http://127.0.0.1:8081/'] },
    });
    assert.equal(readFileSync(join(pdata, 'root.json')), readFileSync(join(t.dir, 'keys/root.json')));
    assert.equal(readFileSync(join(pdata, 'device.key')), readFileSync(fixture('device.key')));
    assert.is(statSync(join(pdata, 'device.key')).mode & 0o777, 0o600, 'the private key is readable by its owner only');
    const after = await doctorFails(t.dir);
    assert.equal([after.code, after.failed], [0, []], after.text);
    assert.match(after.text, /ok +identity: device pi-0042 \(hardware sim-board\), client certificate/);

    // What an unprovisioned (or damaged) data partition lacks, doctor names with the command that fixes it.
    rmSync(join(pdata, 'root.json'));
    rmSync(join(pdata, 'device.key'));
    const missing = await doctorFails(t.dir);
    assert.equal([missing.code, missing.failed], [1, ['identity', 'trusted root']], missing.text);
    assert.match(missing.text, `missing ${join(pdata, 'device.key')}: run ota-agent provision`);
    assert.match(missing.text, 'ota-agent provision --root ROOT.json');
  } finally {
    t.cleanup();
  }
});

test('a second provision without --force is refused with one typed line and nothing written; --force replaces', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    await agentOk(t.dir, 'provision', '--from', 'prov.json', '--data-dir', 'pdata', '--device-id', 'first');
    const pdata = join(t.dir, 'pdata');
    const held = snapshot(pdata);
    const refused = await provision(t.dir, '--device-id', 'second', '--key', fixture('other.key'), '--cert', fixture('device.pem'));
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /provision: .*other\.key is not the private key of .*device\.pem.*\[PROVISION_INVALID\]\n$/, refused.stderr);
    const again = await provision(t.dir, '--device-id', 'second');
    assert.is(again.code, 1);
    assert.is(again.stderr.split('\n').length, 2, `one line: ${again.stderr}`);
    assert.match(again.stderr, `${pdata} already holds a device identity (agent.json, root.json, device.key); nothing written: pass --force to replace it [PROVISION_EXISTS]`);
    assert.equal(snapshot(pdata), held, 'every file byte-identical, nothing added');

    writeFileSync(join(pdata, 'device.key'), readFileSync(fixture('device.key')), { mode: 0o644 });
    await agentOk(t.dir, 'provision', '--from', 'prov.json', '--data-dir', 'pdata', '--device-id', 'second', '--force');
    const config: unknown = JSON.parse(readFileSync(join(pdata, 'agent.json'), 'utf8'));
    assert.ok(typeof config === 'object' && config !== null && 'deviceId' in config && config.deviceId === 'second');
    assert.is(statSync(join(pdata, 'device.key')).mode & 0o777, 0o600, '--force writes the key 0600 again');
    assert.equal((await doctorFails(t.dir)).failed, []);
  } finally {
    t.cleanup();
  }
});

test('what provision refuses writes nothing: an invalid config, no root, mqtts without a certificate, a torn pair', async () => {
  const t = tempDir();
  try {
    await setup(t.dir);
    const cases: [string[], RegExp][] = [
      [[], /agent config .*pdata\/agent\.json: .*\n\s*deviceId: is missing[\s\S]*\[CONFIG_INVALID\]/],
      [['--device-id', 'd', '--broker', 'mqtt://127.0.0.1:1883', '--mirror', 'ftp://x/'], /artifacts\.urls\[0\].*\[CONFIG_INVALID\]/],
      [['--device-id', 'bad id'], /deviceId.*\[CONFIG_INVALID\]/],
    ];
    for (const [argv, expected] of cases) {
      const r = await provision(t.dir, ...argv);
      assert.is(r.code, 1, argv.join(' '));
      assert.match(r.stderr, expected, r.stderr);
    }
    writeFileSync(join(t.dir, 'bare.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(t.dir, 'prov.json'), 'utf8')), files: {} }));
    const flagsOnly: [string[], string][] = [
      [['--device-id', 'd'], 'no trusted root: pass --root'],
      [['--device-id', 'd', '--root', 'keys/root.json'], 'is mqtts but the device has no client certificate or password: pass --cert'],
      [['--device-id', 'd', '--root', 'keys/root.json', '--cert', fixture('device.pem')], '--cert and --key go together'],
      [['--device-id', 'd', '--root', 'dev/agent.json'], 'dev/agent.json'],
    ];
    for (const [argv, expected] of flagsOnly) {
      const r = await agent(t.dir, 'provision', '--from', 'bare.json', '--data-dir', 'pdata', ...argv);
      assert.is(r.code, 1, argv.join(' '));
      assert.match(r.stderr, expected, r.stderr);
      assert.is(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
    const files: [string, string][] = [
      ['not json', 'is not valid JSON'],
      ['[]', 'must hold a JSON object'],
      ['{"files": {"secret": "x"}}', 'files.secret is not one of root, cert, key, ca'],
      ['{"dataDir": "data"}', 'dataDir must be an absolute path'],
    ];
    for (const [text, expected] of files) {
      writeFileSync(join(t.dir, 'odd.json'), text);
      const r = await agent(t.dir, 'provision', '--from', 'odd.json', '--data-dir', 'pdata', '--device-id', 'd');
      assert.is(r.code, 1, text);
      assert.match(r.stderr, expected, r.stderr);
      assert.match(r.stderr, /\[PROVISION_INVALID\]\n$/, r.stderr);
    }
    assert.not.ok(existsSync(join(t.dir, 'pdata')), 'nothing written, not even the directory');
  } finally {
    t.cleanup();
  }
});

test.run();
