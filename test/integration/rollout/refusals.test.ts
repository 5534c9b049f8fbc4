/**
 * `rollout start` refuses, writing nothing and publishing nothing, a rollout it
 * could not carry out: artifacts the devices could not fetch (checked over HTTP
 * as `publish` does), and an audience with no device (a typo in the release's
 * `--hardware`). `--force` starts the latter anyway, and the rollout then waits
 * for devices instead of "completing" with none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { cohortPpm, loadState, runController } from '../../../fleet/src/rollout/index.js';
import { serveArtifacts } from '../../../fleet/src/serve/index.js';
import { HW, deviceSpecs, fleetOk, makeRig, openBroker, type Rig, type RigBroker } from '../../support/fleet-rig.js';
import { retainedTopics } from '../../support/mqtt-observer.js';
import { SimFleet, until } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

const fast = ['--tick-ms', '50', '--settle-ms', '300'];

async function withFleet(body: (rig: Rig, broker: RigBroker, heard: string[], devices: SimFleet) => Promise<void>): Promise<void> {
  const rig = await makeRig();
  const broker = await openBroker('aedes');
  const heard: string[] = [];
  const devices = new SimFleet(deviceSpecs(5), {
    url: broker.url, protocolVersion: broker.deviceProtocol, hardware: HW, rootBytes: rig.rootBytes, stepMs: 20, onMessage: (id) => heard.push(id),
  });
  await devices.start();
  try {
    await body(rig, broker, heard, devices);
  } finally {
    await devices.stop();
    await broker.close();
    rig.cleanup();
  }
}

test('rollout start refuses artifacts that are not served: one typed line naming the URL, no state, nothing published', () => withFleet(async (rig, broker, heard) => {
  mkdirSync(join(rig.dir, 'empty'));
  const server = await serveArtifacts(join(rig.dir, 'empty'));
  try {
    const r = await runMain(fleet, ['rollout', 'start', 'R', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--min-devices', '2', ...fast], { cwd: rig.dir });
    assert.is(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', new RegExp(`artifact ${server.url}/?targets/\\S+: HTTP 404: copy the release's targets/ there \\(ota-fleet publish --copy-to the served directory\\) before any device is targeted \\[ARTIFACT_UNREACHABLE\\]`));
    assert.not.ok(existsSync(join(rig.dir, 'ota-rollout.json')), 'no state written');
    assert.equal(await retainedTopics(broker.url, 'ota/v1/rollout'), [], 'nothing retained on the rollout topics');
    assert.equal(heard, [], 'no device heard of the release');
  } finally {
    await server.close();
  }
}));

test('rollout start refuses a release whose hardware no device reports (a --hardware typo), naming what it saw; --force starts it and it waits', () => withFleet(async (rig, broker, heard) => {
  await fleetOk(rig.dir, ['release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-wh', '--keys', 'KEYS', '--out', 'TYPO']);
  const server = await serveArtifacts(join(rig.dir, 'TYPO'));
  try {
    const argv = ['rollout', 'start', 'TYPO', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--soak', '0', '--detach', ...fast];
    const r = await runMain(fleet, argv, { cwd: rig.dir });
    assert.is(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', /no device of hardware sim-wh reported on mqtt:\/\/127\.0\.0\.1:\d+ within 300 ms \(devices seen: 5 of hardware sim-hw\): check the release's --hardware and that the devices are online, or pass --force to start anyway \[ROLLOUT_NO_DEVICES\]/);
    assert.not.ok(existsSync(join(rig.dir, 'ota-rollout.json')), 'no state written');
    assert.equal(await retainedTopics(broker.url, 'ota/v1/rollout'), [], 'nothing published');

    const forced = await runMain(fleet, [...argv, '--force'], { cwd: rig.dir });
    assert.is(forced.code, 0, forced.stdout + forced.stderr);
    const file = join(rig.dir, 'ota-rollout.json');
    // Many steps with a soak of 0 and every gate "passed" by nobody: the rollout stays in its first stage.
    const stop = new AbortController();
    const running = runController(file, { tickMs: 20, settleMs: 100, log: () => undefined, signal: stop.signal });
    await new Promise((r2) => setTimeout(r2, 600));
    stop.abort();
    const s = await running;
    assert.is(s.rollout.status, 'running', 'not completed with no device');
    assert.is(s.rollout.stageIndex, 0);
    assert.is(s.tally.inStage, 0);
    assert.is((await loadState(file)).rollout.status, 'running');
    assert.equal(await retainedTopics(broker.url, 'ota/v1/rollout'), ['ota/v1/rollout/sim-wh'], 'the forced first stage is published for its hardware only');
    assert.equal(heard, [], 'no device of another hardware heard of it');
  } finally {
    await server.close();
  }
}));

test('a stage does not widen while an artifact is missing: the controller stops with one typed line, the published stage stays, run resumes once it is back', () => withFleet(async (rig, broker, _heard, devices) => {
  const server = await serveArtifacts(join(rig.dir, 'served'));
  try {
    await fleetOk(rig.dir, ['publish', '--release', 'R', '--artifacts-url', server.url, '--copy-to', 'served']);
    await fleetOk(rig.dir, ['rollout', 'start', 'R', '--stages', '10,100', '--min-devices', '2', '--broker', broker.url, '--keys', 'KEYS',
      '--artifacts-url', server.url, '--id', 'gone-test', '--detach', ...fast]);
    const file = join(rig.dir, 'ota-rollout.json');
    const stage1Ppm = (await loadState(file)).published?.ppm ?? 0;
    const stage1 = devices.devices.filter((d) => cohortPpm('gone-test', d.deviceId) < stage1Ppm);
    assert.is(stage1.length, 2);
    await until(() => stage1.every((d) => d.version === 2), 15_000, 'stage 1 committed');
    rmSync(join(rig.dir, 'served', 'targets'), { recursive: true });
    const r = await runMain(fleet, ['rollout', 'run', ...fast], { cwd: rig.dir });
    assert.is(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', /artifact http:\/\/127\.0\.0\.1:\d+\/targets\/\S+: HTTP 404: .* \[ARTIFACT_UNREACHABLE\]/);
    const held = await loadState(file);
    assert.is(held.published?.ppm, stage1Ppm, 'the second stage was not published');
    assert.ok(devices.devices.filter((d) => !stage1.includes(d)).every((d) => d.installs.length === 0), 'nobody outside stage 1 installed');

    await fleetOk(rig.dir, ['publish', '--release', 'R', '--artifacts-url', server.url, '--copy-to', 'served']);
    await fleetOk(rig.dir, ['rollout', 'run', ...fast]);
    assert.is((await loadState(file)).rollout.status, 'completed');
    await until(() => devices.devices.every((d) => d.version === 2), 15_000, 'every device on release 2');
  } finally {
    await server.close();
  }
}));

test.run();
