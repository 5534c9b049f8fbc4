/**
 * Staged rollouts end to end against the embedded aedes broker and a real
 * mosquitto: `ota-fleet rollout start` signs each stage as a staged cohort,
 * simulated devices judge it with the agent's verifier, and the controller
 * advances on their retained status documents, or halts on failures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { cohortPpm, loadState } from '../../../fleet/src/rollout/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { eachBroker, deviceSpecs, makeRig, openBroker, serveRelease, startDevices } from '../../support/fleet-rig.js';
import { until } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

const fast = ['--tick-ms', '100', '--settle-ms', '300'];

/** Device ids ordered by their place in rollout `id`. */
function byPlace(id: string, ids: readonly string[]): string[] {
  return [...ids].sort((a, b) => cohortPpm(id, a) - cohortPpm(id, b));
}

for (const [kind, it] of eachBroker()) {
  it(`${kind}: a staged rollout to 20 devices advances stage by stage, in cohort order, to every device`, async () => {
    const rig = await makeRig();
    const broker = await openBroker(kind);
    const server = await serveRelease(rig);
    const order: string[] = [];
    const devices = await startDevices(rig, broker, deviceSpecs(20), 40, (id) => order.push(id));
    try {
      const r = await runMain(fleet, ['rollout', 'start', 'R', '--stages', '10,50,100', '--success-threshold', '95', '--failure-threshold', '5',
        '--min-devices', '2', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--id', 'stage-test', ...fast], { cwd: rig.dir });
      assert.is(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /stage 2\/3/);
      assert.match(r.stdout, /stage 3\/3/);
      assert.match(r.stdout, /completed/);
      // A 95 % success threshold completes the last stage at 19 of 20; the
      // notice stays published, so the twentieth gets there too.
      await until(() => devices.devices.every((d) => d.version === 2), 15_000, 'every device runs release 2');
      assert.equal(devices.devices.map((d) => d.installs), devices.devices.map(() => [2]), 'each device installed once');
      const ids = byPlace('stage-test', devices.devices.map((d) => d.deviceId));
      const stage1 = ids.filter((id) => cohortPpm('stage-test', id) < Math.max(100_000, cohortPpm('stage-test', ids[1] ?? '') + 1));
      const stage2 = ids.filter((id) => cohortPpm('stage-test', id) < 500_000);
      assert.equal(new Set(order.slice(0, stage1.length)), new Set(stage1), 'the first stage installs first');
      assert.equal(new Set(order.slice(0, stage2.length)), new Set(stage2), 'then the second');
      const s = await loadState(join(rig.dir, 'ota-rollout.json'));
      assert.is(s.rollout.status, 'completed');
      assert.is(s.published?.ppm, 1_000_000);
    } finally {
      await devices.stop();
      await server.close();
      await broker.close();
      rig.cleanup();
    }
  });

  it(`${kind}: failures above the threshold halt the rollout in its first stage and no device outside it installs`, async () => {
    const rig = await makeRig();
    const broker = await openBroker(kind);
    const server = await serveRelease(rig);
    const ids = byPlace('halt-test', deviceSpecs(20).map((d) => d.deviceId));
    const firstTwo = new Set(ids.slice(0, 2));
    const devices = await startDevices(rig, broker, deviceSpecs(20, (id) => firstTwo.has(id)));
    try {
      const r = await runMain(fleet, ['rollout', 'start', 'R', '--stages', '10,50,100', '--success-threshold', '95', '--failure-threshold', '5',
        '--min-devices', '4', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--id', 'halt-test', ...fast], { cwd: rig.dir });
      assert.is(r.code, 1, 'a halted rollout exits 1');
      assert.match(r.stdout, /halted/);
      const s = await loadState(join(rig.dir, 'ota-rollout.json'));
      assert.is(s.rollout.status, 'halted');
      assert.is(s.rollout.stageIndex, 0);
      assert.is(s.published?.ppm, 0, 'the halt is published: a signed document that targets nobody');
      // The halt names each failed device with its own reason, in the state, the run's output and rollout status.
      const reasons = [...firstTwo].sort().map((id) => `${id} [HEALTH_REQUIRED_FAILED] health check failed: required check "fleet" timed out (release 2 reverted)`);
      assert.ok(s.rollout.reason?.endsWith(`2 of ${s.tally.inStage} devices failed (${((2 / s.tally.inStage) * 100).toFixed(1)} % > 5 %): ${reasons.join('; ')}`), s.rollout.reason);
      assert.equal(s.tally.failures, [...firstTwo].sort().map((id) => ({ deviceId: id, reason: `[HEALTH_REQUIRED_FAILED] health check failed: required check "fleet" timed out (release 2 reverted)` })));
      for (const line of reasons) assert.ok(r.stdout.includes(`halted: stage 1`) && r.stdout.includes(line), `run output names ${line}`);
      const status = await runMain(fleet, ['rollout', 'status'], { cwd: rig.dir });
      for (const line of reasons) assert.ok(status.stdout.includes(`failed: ${line}`), status.stdout);
      const stage1 = new Set(ids.filter((id) => cohortPpm('halt-test', id) < (s.rollout.stagePpm ?? 0)));
      assert.ok(stage1.size >= 4);
      // Every device outside the stage judged two documents, the stage's and the halt (both refused as
      // wrong-device): what it installs, it installs as it judges, so nothing can come later.
      const outside = devices.devices.filter((d) => !stage1.has(d.deviceId));
      await until(() => outside.every((d) => d.refusals.length >= 2), 15_000, 'every device outside the stage judged the halt');
      for (const d of devices.devices) {
        if (stage1.has(d.deviceId)) continue;
        assert.equal(d.installs, [], `${d.deviceId} is outside the stage and installed nothing`);
        assert.ok(d.refusals.includes('wrong-device'), `${d.deviceId} refused the staged notice as wrong-device`);
      }
      assert.ok(devices.devices.filter((d) => firstTwo.has(d.deviceId)).every((d) => d.version === 1 && d.installs.length === 1));
    } finally {
      await devices.stop();
      await server.close();
      await broker.close();
      rig.cleanup();
    }
  });
}

test.run();
