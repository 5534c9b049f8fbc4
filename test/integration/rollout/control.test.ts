/**
 * pause, resume and abort: with no controller running (the command applies the
 * request itself) and with one running (it leaves the request in FILE.control
 * for the controller's next step).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { cohortPpm, loadState, runController } from '../../../fleet/src/rollout/index.js';
import { eachBroker, deviceSpecs, fleetOk, makeRig, openBroker, serveRelease, startDevices } from '../../support/fleet-rig.js';
import { ReadClock } from '../../support/read-clock.js';
import { until, untilAsync } from '../../support/sim-fleet.js';

for (const [kind, it] of eachBroker()) it(`${kind}: pause holds the rollout after its stage, resume moves on, abort publishes a halt`, async () => {
  const rig = await makeRig();
  const broker = await openBroker(kind);
  const server = await serveRelease(rig);
  const devices = await startDevices(rig, broker, deviceSpecs(20));
  const file = join(rig.dir, 'ota-rollout.json');
  try {
    await fleetOk(rig.dir, ['rollout', 'start', 'R', '--stages', '10,50,100', '--min-devices', '2', '--soak', '1s', '--broker', broker.url,
      '--keys', 'KEYS', '--artifacts-url', server.url, '--id', 'control-test', '--detach', '--settle-ms', '300']);
    assert.match(await fleetOk(rig.dir, ['rollout', 'pause', '--settle-ms', '300']), /paused/, 'applied at once: no controller runs');
    // the controller's time moves only when the test moves it (the start and the stage before it used real time)
    const clock = new ReadClock(Date.now());
    const running = runController(file, { tickMs: 100, settleMs: 300, log: () => undefined, nowMs: clock.nowMs });
    const s0 = await loadState(file);
    const stage1 = devices.devices.filter((d) => cohortPpm('control-test', d.deviceId) < (s0.rollout.stagePpm ?? 0));
    await until(() => stage1.every((d) => d.version === 2), 30_000, 'stage 1 committed');
    // A minute past the 1 s soak with the stage done, and three steps (two reads each) that saw it: a running
    // rollout would have moved on.
    clock.advance(60_000);
    await clock.readsMore(6, 30_000, 'three controller steps past the soak');
    const held = await loadState(file);
    assert.is(held.rollout.status, 'paused');
    assert.is(held.rollout.stageIndex, 0);
    assert.ok(devices.devices.filter((d) => !stage1.includes(d)).every((d) => d.installs.length === 0), 'nobody outside stage 1 installed');

    assert.match(await fleetOk(rig.dir, ['rollout', 'resume']), /asked the controller/);
    await untilAsync(async () => (await loadState(file)).rollout.stageIndex >= 1, 30_000, 'stage 2');
    assert.match(await fleetOk(rig.dir, ['rollout', 'abort']), /asked the controller/);
    const final = await running;
    assert.is(final.rollout.status, 'aborted');
    assert.is(final.published?.ppm, 0);
    assert.match(await fleetOk(rig.dir, ['rollout', 'status']), /aborted/);
    const stage2Ppm = final.rollout.stagePpm ?? 0;
    assert.ok(devices.devices.filter((d) => cohortPpm('control-test', d.deviceId) >= stage2Ppm).every((d) => d.installs.length === 0), 'nobody outside stage 2 installed');
  } finally {
    await devices.stop();
    await server.close();
    await broker.close();
    rig.cleanup();
  }
});

test.run();
