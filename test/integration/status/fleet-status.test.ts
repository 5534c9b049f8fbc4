/**
 * `ota-fleet publish` (artifacts copied and checked over HTTP, the notice
 * retained on the rollout topic) and `ota-fleet status` (the table and --json
 * from the devices' retained status documents).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { serveArtifacts } from '../../../fleet/src/serve/index.js';
import { eachBroker, deviceSpecs, fleetOk, makeRig, openBroker, startDevices } from '../../support/fleet-rig.js';
import { until } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

for (const [kind, it] of eachBroker()) {
  it(`${kind}: publish reaches every device; status shows versions, phases and the failed device's error`, async () => {
    const rig = await makeRig();
    const broker = await openBroker(kind);
    const server = await serveArtifacts(join(rig.dir, 'served'));
    const devices = await startDevices(rig, broker, deviceSpecs(5, (id) => id === 'dev-03'));
    try {
      const missing = await runMain(fleet, ['publish', '--release', 'R', '--broker', broker.url, '--artifacts-url', server.url], { cwd: rig.dir });
      assert.is(missing.code, 1, 'nothing served yet');
      assert.match(missing.stderr, /ARTIFACT_UNREACHABLE/);
      assert.ok(devices.devices.every((d) => d.installs.length === 0), 'nothing was published');
      const out = await fleetOk(rig.dir, ['publish', '--release', 'R', '--broker', broker.url, '--artifacts-url', server.url, '--copy-to', 'served', '--all']);
      assert.match(out, /published release 2 .* on ota\/v1\/rollout\/sim-hw/);
      await until(() => devices.devices.every((d) => d.installs.length === 1 && d.version === (d.deviceId === 'dev-03' ? 1 : 2)), 30_000, 'installs');
      // the broker holds each device's final status once it acknowledged it (QoS 1)
      await until(() => devices.devices.every((d) => d.statusAcked), 30_000, 'final status documents acknowledged');
      const rows: unknown = JSON.parse(await fleetOk(rig.dir, ['status', '--broker', broker.url, '--json', '--wait-ms', '300']));
      assert.ok(Array.isArray(rows));
      assert.is(rows.length, 5);
      const table = await fleetOk(rig.dir, ['status', '--broker', broker.url, '--wait-ms', '300']);
      const lines = table.trim().split('\n');
      assert.match(lines[0] ?? '', /^DEVICE\s+VERSION\s+CHANNEL\s+PHASE\s+PROGRESS\s+BOOTED\s+ONLINE\s+LAST ERROR$/);
      assert.match(lines.find((l) => l.startsWith('dev-00')) ?? '', /^dev-00\s+2\s+stable\s+idle\s+-\s+A\s+yes\s+-$/);
      assert.match(lines.find((l) => l.startsWith('dev-03')) ?? '', /^dev-03\s+1\s+stable\s+idle\s+-\s+A\s+yes\s+health check failed/);
      assert.match(lines[lines.length - 2] ?? '', /^5 devices$/);
      assert.match(lines[lines.length - 1] ?? '', /^5 of 5 known devices seen \(roster ota-devices\.json\)$/, 'the --json run noted the devices in the roster');
    } finally {
      await devices.stop();
      await server.close();
      await broker.close();
      rig.cleanup();
    }
  });
}

test.run();
