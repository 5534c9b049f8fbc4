/**
 * `ota-fleet publish` chooses no device by itself: it copies the artifacts and
 * checks them over HTTP; only `--all` (the release's own signed rollout,
 * retained) or `--device` targets devices. A staged rollout (`rollout start`)
 * is what normally follows, and it must find the fleet still on the old release.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { serveArtifacts } from '../../../fleet/src/serve/index.js';
import { HW, deviceSpecs, fleetOk, makeRig, openBroker } from '../../support/fleet-rig.js';
import { retainedTopics } from '../../support/mqtt-observer.js';
import { SimFleet, until } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

test('publish without --all serves and checks the artifacts and targets nobody; --all then reaches every device', async () => {
  const rig = await makeRig();
  const broker = await openBroker('aedes');
  const server = await serveArtifacts(join(rig.dir, 'served'));
  const heard: string[] = [];
  const devices = new SimFleet(deviceSpecs(5), {
    url: broker.url, protocolVersion: broker.deviceProtocol, hardware: HW, rootBytes: rig.rootBytes, stepMs: 20, onMessage: (id) => heard.push(id),
  });
  await devices.start();
  try {
    const out = await fleetOk(rig.dir, ['publish', '--release', 'R', '--broker', broker.url, '--artifacts-url', server.url, '--copy-to', 'served']);
    assert.match(out, /copied 1 artifact to served/);
    assert.match(out, /no device targeted: stage a rollout with ota-fleet rollout start R, or publish --all/);
    assert.ok(existsSync(join(rig.dir, 'served', 'targets')), 'the artifacts are served');
    assert.not.ok(existsSync(join(rig.dir, 'served', 'rollout')), 'no rollout document is served for the devices\' HTTPS resync');
    assert.equal(await retainedTopics(broker.url, 'ota/v1/rollout'), [], 'nothing retained on the rollout topic');
    assert.equal(heard, [], 'no device heard of the release');
    assert.ok(devices.devices.every((d) => d.installs.length === 0 && d.version === 1));

    const all = await fleetOk(rig.dir, ['publish', '--release', 'R', '--broker', broker.url, '--artifacts-url', server.url, '--copy-to', 'served', '--all']);
    assert.match(all, /published release 2 .* on ota\/v1\/rollout\/sim-hw/);
    assert.ok(existsSync(join(rig.dir, 'served', 'rollout', `${HW}.json`)));
    await until(() => devices.devices.every((d) => d.version === 2), 15_000, 'every device on release 2 after --all');
  } finally {
    await devices.stop();
    await server.close();
    await broker.close();
    rig.cleanup();
  }
});

test('publish --copy-to reports its copy on stderr, a line per tenth when stderr is not a terminal; the copy is whole', async () => {
  const rig = await makeRig();
  writeFileSync(join(rig.dir, 'big.img'), randomBytes(2 << 20)); // incompressible: the artifact stays 2 MiB
  await fleetOk(rig.dir, ['release', '--image', 'big.img', '--version', '3', '--hardware', HW, '--keys', 'KEYS', '--out', 'BIG']);
  const server = await serveArtifacts(join(rig.dir, 'served'));
  try {
    const r = await runMain(fleet, ['publish', '--release', 'BIG', '--artifacts-url', server.url, '--copy-to', 'served'], { cwd: rig.dir, stderrIsTTY: false });
    assert.is(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    const label = lines[0]?.replace(/\.\.\.$/, '') ?? '';
    assert.match(lines[0] ?? '', /^copy targets\/\S+\.\.\.$/);
    assert.equal(lines.slice(1), [...[10, 20, 30, 40, 50, 60, 70, 80, 90].map((p) => `${label}: ${p} %`), `${label}: 2.0 MiB`], r.stderr);
    const path = label.replace(/^copy /, '');
    assert.equal(readFileSync(join(rig.dir, 'served', path)), readFileSync(join(rig.dir, 'BIG', path)), 'the served copy is the artifact');
    const again = await runMain(fleet, ['publish', '--release', 'BIG', '--artifacts-url', server.url, '--copy-to', 'served'], { cwd: rig.dir, stderrIsTTY: false });
    assert.is(again.stderr, '', 'nothing copied again, nothing reported');
  } finally {
    await server.close();
    rig.cleanup();
  }
});

test('publish refuses two targetings, and a targeting without a broker, before copying anything', async () => {
  const rig = await makeRig();
  try {
    const both = await runMain(fleet, ['publish', '--release', 'R', '--broker', 'mqtt://127.0.0.1:1', '--artifacts-url', 'http://127.0.0.1:1/',
      '--copy-to', 'served', '--all', '--device', 'dev-00'], { cwd: rig.dir });
    assert.ok(both.code !== 0, both.stderr);
    assert.match(both.stderr, /--all and --device both choose devices: pass one of them \[USAGE\]/);
    const noBroker = await runMain(fleet, ['publish', '--release', 'R', '--artifacts-url', 'http://127.0.0.1:1/', '--copy-to', 'served', '--all'], { cwd: rig.dir });
    assert.ok(noBroker.code !== 0, noBroker.stderr);
    assert.match(noBroker.stderr, /--all needs --broker URL/);
    assert.not.ok(existsSync(join(rig.dir, 'served')), 'nothing copied');
  } finally {
    rig.cleanup();
  }
});


test('publish --copy-to copies and checks the /etc manifest too: a device with the /etc overlay fetches it before it installs', async () => {
  const rig = await makeRig();
  const server = await serveArtifacts(join(rig.dir, 'served'));
  try {
    const root = join(rig.dir, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'hostname'), 'vendor\n');
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-d', root, join(rig.dir, 'v3.img'), '4M'], { env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } });
    await fleetOk(rig.dir, ['release', '--image', 'v3.img', '--version', '3', '--hardware', HW, '--keys', 'KEYS', '--out', 'R3']);
    const out = await fleetOk(rig.dir, ['publish', '--release', 'R3', '--artifacts-url', server.url, '--copy-to', 'served']);
    assert.match(out, /copied 2 artifacts to served/);
    const etc = readdirSync(join(rig.dir, 'R3', 'targets')).filter((f) => f.endsWith('.etc.json'));
    assert.is(etc.length, 1, 'the release records its /etc manifest');
    assert.ok(existsSync(join(rig.dir, 'served', 'targets', etc[0] ?? '')), 'the /etc manifest is served beside the image');
  } finally {
    await server.close();
    rig.cleanup();
  }
});

test.run();
