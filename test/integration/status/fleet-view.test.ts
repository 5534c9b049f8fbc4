/**
 * The fleet's view on a stock mosquitto (Debian's limits: max_inflight_messages 20, max_queued_messages
 * 1000) with 5,000 devices' retained status documents: `ota-fleet status` and `rollout start` see every
 * one (a QoS 1 subscription got 1,020), and note them in the roster. When the broker has lost documents
 * (a restart without persistence) the view is partial: status says so and exits 1, `rollout start`
 * refuses in one typed line unless --force, a running controller holds instead of advancing, and
 * `roster forget` removes retired devices.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { cohortPpm, loadState, runController } from '../../../fleet/src/rollout/index.js';
import { HW, fleetOk, makeRig, serveRelease, type Rig } from '../../support/fleet-rig.js';
import { haveMosquitto, startMosquitto, type Broker } from '../../support/mosquitto.js';
import { gate } from '../../support/skip.js';
import { until } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

const it = gate(haveMosquitto() ? undefined : 'missing mosquitto');
const FLEET = 5000;
const ids = Array.from({ length: FLEET }, (_, k) => `dev-${String(k).padStart(4, '0')}`);
const fast = ['--tick-ms', '50', '--settle-ms', '500'];

function statusDoc(deviceId: string, version: number): string {
  return JSON.stringify({
    schema: 'ota-status/1', deviceId, version: String(version), phase: 'idle', progress: null, lastError: null, booted: 'A',
    seq: 1, bootId: 'b0', updatedAt: '2026-12-01T00:00:00.000Z', hardware: HW,
  });
}

/** Publish the retained status documents of `devices` (as many devices would, 200 at a time). */
async function publishStatuses(url: string, devices: readonly string[], version = 1): Promise<void> {
  const c = await connectAsync(url, { protocolVersion: 4 });
  try {
    for (let k = 0; k < devices.length; k += 200) {
      await Promise.all(devices.slice(k, k + 200).map((id) => c.publishAsync(`ota/v1/${id}/status`, statusDoc(id, version), { qos: 1, retain: true })));
    }
  } finally {
    await c.endAsync();
  }
}

async function withStock(extraConfig: readonly string[], body: (rig: Rig, broker: Broker) => Promise<void>): Promise<void> {
  const rig = await makeRig();
  const broker = await startMosquitto({ extraConfig });
  try {
    await body(rig, broker);
  } finally {
    await broker.stop();
    rig.cleanup();
  }
}

function rosterIds(rig: Rig): string[] {
  const v: unknown = JSON.parse(readFileSync(join(rig.dir, 'ota-devices.json'), 'utf8'));
  const devices = typeof v === 'object' && v !== null && 'devices' in v ? v.devices : undefined;
  return typeof devices === 'object' && devices !== null ? Object.keys(devices) : [];
}

it('stock mosquitto, 5,000 retained status documents: status and rollout start see every device and note them in the roster', () => withStock([], async (rig, broker) => {
  await publishStatuses(broker.url, ids);
  const rows: unknown = JSON.parse(await fleetOk(rig.dir, ['status', '--broker', broker.url, '--json', '--wait-ms', '500']));
  assert.ok(Array.isArray(rows));
  assert.is(rows.length, FLEET, 'every retained status document reached ota-fleet status');
  assert.is(rosterIds(rig).length, FLEET, 'the roster holds every device seen');
  const table = await fleetOk(rig.dir, ['status', '--broker', broker.url, '--wait-ms', '500']);
  assert.match(table, /\n5000 devices\n5000 of 5000 known devices seen \(roster ota-devices\.json\)\n$/);
  const server = await serveRelease(rig);
  try {
    await fleetOk(rig.dir, ['rollout', 'start', 'R', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--detach', ...fast]);
    const s = await loadState(join(rig.dir, 'ota-rollout.json'));
    const ppm = s.rollout.stagePpm ?? 0;
    const expected = ids.filter((id) => cohortPpm(s.rollout.rolloutId, id) < ppm).length;
    assert.ok(expected > 20, `stage 1 (1 %) of 5,000 devices holds ${expected}`);
    assert.is(s.tally.inStage, expected, 'stage 1 was planned on all 5,000 devices');
  } finally {
    await server.close();
  }
}));

it('a broker with a tiny queue (max_queued_messages 10, max_inflight_messages 1) still gives the whole view', () => withStock(['max_queued_messages 10', 'max_inflight_messages 1'], async (rig, broker) => {
  await publishStatuses(broker.url, ids);
  const rows: unknown = JSON.parse(await fleetOk(rig.dir, ['status', '--broker', broker.url, '--json', '--wait-ms', '500']));
  assert.ok(Array.isArray(rows));
  assert.is(rows.length, FLEET);
}));

it('the broker lost 2,000 documents (restart without persistence): status says so, rollout start refuses, --force starts, the controller holds', () => withStock([], async (rig, broker) => {
  await publishStatuses(broker.url, ids);
  await fleetOk(rig.dir, ['status', '--broker', broker.url, '--json', '--wait-ms', '500']);
  await broker.kill();
  await broker.restart();
  const back = ids.slice(0, 3000);
  await publishStatuses(broker.url, back, 2); // the devices that came back run release 2 already: a planner would advance
  const status = await runMain(fleet, ['status', '--broker', broker.url, '--wait-ms', '500'], { cwd: rig.dir });
  assert.is(status.code, 1, status.stderr);
  assert.match(status.stdout, /\n3000 devices\n3000 of 5000 known devices seen \(roster ota-devices\.json\)\n$/);
  assert.match(status.stderr, /^ota-fleet: status: the broker gave status documents of 3000 of the 5000 devices the roster ota-devices\.json knows \(missing dev-3000, dev-3001, dev-3002, dev-3003, dev-3004 and 1995 more\): .* or pass --force to go on with the devices seen \[FLEET_VIEW_INCOMPLETE\]\n$/);
  const server = await serveRelease(rig);
  try {
    const argv = ['rollout', 'start', 'R', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--detach', ...fast];
    const refused = await runMain(fleet, argv, { cwd: rig.dir });
    assert.is(refused.code, 1, refused.stdout + refused.stderr);
    assert.is(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /^ota-fleet: rollout start: the broker gave status documents of 3000 of the 5000 devices .*\[FLEET_VIEW_INCOMPLETE\]\n$/);
    assert.not.ok(existsSync(join(rig.dir, 'ota-rollout.json')), 'no rollout state written');
    await fleetOk(rig.dir, [...argv, '--force']);
    const file = join(rig.dir, 'ota-rollout.json');
    const started = await loadState(file);
    assert.is(started.rollout.status, 'running', 'its first step (--detach) planned on the devices seen');
    assert.ok(started.rollout.stageIndex < started.policy.stagesPercent.length - 1, 'stages are left to advance');
    const log: string[] = [];
    const stop = new AbortController();
    const running = runController(file, { tickMs: 50, settleMs: 500, log: (l) => log.push(l), signal: stop.signal });
    await until(() => log.some((l) => l.includes('holding')), 30_000, 'the controller says it holds');
    stop.abort();
    const held = await running;
    assert.match(log.find((l) => l.includes('holding')) ?? '', /holding: the broker gave status documents of 3000 of the 5000 devices/);
    assert.is(held.rollout.stageIndex, started.rollout.stageIndex, 'no stage advanced on the partial view');
    assert.is(held.rollout.status, 'running');
    const forced = await runController(file, { tickMs: 50, settleMs: 500, log: () => undefined, force: true });
    assert.is(forced.rollout.status, 'completed', 'forced, it plans on the 3,000 devices seen (all on release 2)');
    const typo = await runMain(fleet, ['roster', 'forget', 'dev-9999'], { cwd: rig.dir });
    assert.is(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /roster forget: dev-9999 not in ota-devices\.json/);
    await fleetOk(rig.dir, ['roster', 'forget', ...ids.slice(3000)]);
    assert.is(rosterIds(rig).length, 3000, 'the retired devices are forgotten');
    assert.match(await fleetOk(rig.dir, ['status', '--broker', broker.url, '--wait-ms', '500']), /\n3000 of 3000 known devices seen/);
  } finally {
    await server.close();
  }
}));

test.run();
