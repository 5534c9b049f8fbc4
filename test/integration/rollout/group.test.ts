/**
 * A rollout that targets a dynamic group (attribute site=north) with one named canary first, against
 * the embedded broker and a real mosquitto: simulated devices report their site in their status
 * documents, the registry (SQLite beside the state file) holds them, the controller names the group's
 * devices by id in each signed stage, and the devices judge the documents with the agent's verifier.
 * Devices outside the group never install; the canary installs alone, before anyone else; the history
 * keeps the stages, decisions and each device's outcome.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { eachBroker, fleetOk, makeRig, openBroker, serveRelease, startDevices } from '../../support/fleet-rig.js';
import { until } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';
import type { SimDeviceSpec } from '../../support/sim-fleet.js';

const fast = ['--tick-ms', '100', '--settle-ms', '300'];
const CANARY = 'dev-03';

/** 12 devices: dev-00..05 at site north, dev-06..11 at site south. */
function specs(): SimDeviceSpec[] {
  return Array.from({ length: 12 }, (_, k) => ({ deviceId: `dev-${String(k).padStart(2, '0')}`, version: 1, attributes: { site: k < 6 ? 'north' : 'south' } }));
}

type Json = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
function field(v: unknown, k: string): unknown {
  return isObj(v) ? v[k] : undefined;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

for (const [kind, it] of eachBroker()) {
  it(`${kind}: a rollout to group site=north with canary ${CANARY} first: the canary installs alone, then the group; nobody outside installs`, async () => {
    const order: string[] = [];
    const all = specs();
    const north = all.filter((s) => s.attributes?.['site'] === 'north').map((s) => s.deviceId);
    const rig = await makeRig();
    const broker = await openBroker(kind);
    const server = await serveRelease(rig);
    const devices = await startDevices(rig, broker, all, 40, (id) => order.push(id));
    try {
      await fleetOk(rig.dir, ['group', 'add', 'north', '--attribute', 'site=north']);
      const r = await runMain(fleet, ['rollout', 'start', 'R', '--group', 'north', '--canary', CANARY, '--stages', '50,100', '--success-threshold', '100',
        '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--id', 'north-1', ...fast], { cwd: rig.dir });
      assert.is(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /published rollout document [0-9]+ \(1 device named\)\n.*stage 2\/3 \(50 %/, 'the first document names the canary alone');
      assert.match(r.stdout, /published rollout document [0-9]+ \(6 devices named\)/, 'the last names the whole group, by id');
      assert.match(r.stdout, /completed/);
      await until(() => devices.devices.filter((d) => north.includes(d.deviceId)).every((d) => d.version === 2), 15_000, 'every device of the group runs release 2');
      assert.is(order[0], CANARY, 'the canary installs first');
      assert.equal(new Set(order), new Set(north), 'the group installs, and only the group');
      for (const d of devices.devices.filter((x) => !north.includes(x.deviceId))) {
        assert.equal(d.installs, [], `${d.deviceId} is outside the group and installed nothing`);
        assert.is(d.version, 1);
        assert.ok(d.refusals.includes('wrong-device'), `${d.deviceId} refused the group's documents as wrong-device`);
      }
      // The registry saw every device, with its site.
      const listed: unknown = JSON.parse(await fleetOk(rig.dir, ['device', 'list', '--attribute', 'site=north', '--json']));
      assert.equal(list(field(listed, 'devices')).map((d) => field(d, 'deviceId')), north);
      // The history: the start names the group and canary, stages advance, every member committed, nobody else targeted.
      const h: unknown = JSON.parse(await fleetOk(rig.dir, ['rollout', 'history', 'north-1', '--json']));
      const events = list(field(h, 'events')).map((e) => field(e, 'kind'));
      assert.equal(events, ['start', 'advance', 'advance', 'complete']);
      assert.match(String(field(list(field(h, 'events'))[0], 'detail')), /group north \(6 devices\), canaries dev-03 first/);
      const outcomes = list(field(h, 'outcomes'));
      assert.equal(outcomes.map((o) => field(o, 'deviceId')), north, 'only the group is targeted');
      assert.ok(outcomes.every((o) => field(o, 'outcome') === 'committed'), JSON.stringify(outcomes));
      assert.is(field(outcomes.find((o) => field(o, 'deviceId') === CANARY), 'stageIndex'), 0, 'the canary came in the first stage');
      assert.ok(outcomes.filter((o) => field(o, 'deviceId') !== CANARY).every((o) => field(o, 'stageIndex') !== 0), 'the others came after it');
      const text = await fleetOk(rig.dir, ['rollout', 'history', 'north-1']);
      assert.match(text, /target group north; stages canaries \(dev-03\), 50 %, 100 %/);
      assert.match(text, /devices: 6 targeted \(6 committed\)/);
    } finally {
      await devices.stop();
      await server.close();
      await broker.close();
      rig.cleanup();
    }
  });
}

test.run();
