import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PPM, cohortPpm, planRollout, policyProblems, startRollout, tallyStage,
  type DeviceFact, type RolloutPolicy, type RolloutState,
} from '../../../fleet/src/rollout/index.js';

const policy: RolloutPolicy = { stagesPercent: [1, 10, 50, 100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 3, soakMs: 60_000 };
const fleet = (n: number): DeviceFact[] => Array.from({ length: n }, (_, i) => ({ deviceId: `dev-${i}`, version: 1, outcome: 'idle' }));

/** Devices in the published stage report: committed, or failed when `fails` says so. */
function report(devices: DeviceFact[], state: RolloutState, ppm: number, fails: (id: string) => boolean): DeviceFact[] {
  return devices.map((d) => {
    if (cohortPpm(state.rolloutId, d.deviceId) >= ppm) return d;
    return fails(d.deviceId) ? { ...d, outcome: 'failed', outcomeVersion: state.releaseVersion } : { ...d, version: state.releaseVersion, outcome: 'committed', outcomeVersion: state.releaseVersion };
  });
}

test('cohorts are stable, spread evenly and differ between rollouts', () => {
  assert.is(cohortPpm('r1', 'dev-1'), cohortPpm('r1', 'dev-1'));
  const n = 20_000;
  let below10 = 0, same = 0;
  for (let i = 0; i < n; i++) {
    const p = cohortPpm('r1', `dev-${i}`);
    assert.ok(Number.isInteger(p) && p >= 0 && p < PPM);
    if (p < PPM / 10) below10++;
    if (p === cohortPpm('r2', `dev-${i}`)) same++;
  }
  assert.ok(Math.abs(below10 / n - 0.1) < 0.01, `10 % stage holds ${below10} of ${n}`);
  assert.ok(same < 5, 'another rollout draws other cohorts');
});

test('the first stage of a small fleet is widened to hold min devices', () => {
  const devices = fleet(20);
  const plan = startRollout('r1', 2, policy, devices, 0);
  const action = plan.actions[0];
  assert.ok(action !== undefined && action.kind === 'publish-stage');
  if (action.kind !== 'publish-stage') return;
  assert.is(plan.tally.inStage, 3, 'exactly min devices are in the widened 1 % stage');
  assert.ok(action.ppm > PPM / 100);
});

test('a healthy rollout advances stage by stage after each soak and completes', () => {
  let devices = fleet(200);
  let { next: state, actions } = startRollout('r1', 2, policy, devices, 0);
  const seen: number[] = [];
  let now = 0;
  for (let step = 0; step < 20 && state.status === 'running'; step++) {
    const a = actions[0];
    if (a?.kind === 'publish-stage') { seen.push(a.stageIndex); devices = report(devices, state, a.ppm, () => false); }
    const early = planRollout(state, policy, devices, now + 1_000);
    assert.is(early.next.stageIndex, state.stageIndex, 'no advance before the soak time');
    now += 60_000;
    ({ next: state, actions } = planRollout(state, policy, devices, now));
  }
  assert.equal(seen, [0, 1, 2, 3]);
  assert.is(state.status, 'completed');
  assert.ok(devices.every((d) => d.version === 2));
});

test('failures above the threshold halt before the next stage, and nobody outside the stage is asked', () => {
  const devices = fleet(200);
  const start = startRollout('r1', 2, { ...policy, minDevices: 20 }, devices, 0);
  const a = start.actions[0];
  assert.ok(a?.kind === 'publish-stage');
  if (a?.kind !== 'publish-stage') return;
  let n = 0;
  const reported = report(devices, start.next, a.ppm, () => n++ % 10 === 0); // 10 % fail
  const plan = planRollout(start.next, { ...policy, minDevices: 20 }, reported, 120_000);
  assert.is(plan.next.status, 'halted');
  assert.equal(plan.actions.map((x) => x.kind), ['publish-halt']);
  assert.match(plan.next.reason ?? '', /failed/);
  const outside = reported.filter((d) => cohortPpm('r1', d.deviceId) >= a.ppm);
  assert.ok(outside.length > 0 && outside.every((d) => d.version === 1 && d.outcome === 'idle'));
  assert.equal(planRollout(plan.next, policy, reported, 999_999).actions, [], 'a halted rollout stays halted');
});

test('failures at the threshold do not halt; success below the threshold waits', () => {
  const state: RolloutState = { rolloutId: 'r', releaseVersion: 2, stageIndex: 3, stageStartedAtMs: 0, status: 'running' };
  const devices: DeviceFact[] = Array.from({ length: 100 }, (_, i) => ({
    deviceId: `d${i}`, version: i < 90 ? 2 : 1, outcome: i < 90 ? 'committed' : i < 95 ? 'failed' : 'installing', outcomeVersion: 2,
  }));
  const plan = planRollout(state, policy, devices, 10 ** 9);
  assert.equal(plan.tally, { inStage: 100, committed: 90, failed: 5, pending: 5, failures: [90, 91, 92, 93, 94].map((k) => ({ deviceId: `d${k}`, reason: 'failed' })) });
  assert.is(plan.next.status, 'running', '5 % failed is not more than 5 %');
  assert.equal(plan.actions, [], '90 % committed is below 95 %: wait');
});

test('a failure for another version does not count against this release', () => {
  const devices: DeviceFact[] = [{ deviceId: 'a', version: 1, outcome: 'failed', outcomeVersion: 7 }];
  assert.equal(tallyStage('r', 2, PPM, devices), { inStage: 1, committed: 0, failed: 0, pending: 1 });
});

test('a device on trial runs the new version but does not count as committed', () => {
  const devices: DeviceFact[] = [{ deviceId: 'a', version: 2, outcome: 'trying' }, { deviceId: 'b', version: 2, outcome: 'committed' }];
  assert.equal(tallyStage('r', 2, PPM, devices), { inStage: 2, committed: 1, failed: 0, pending: 1 });
});

test('paused and aborted rollouts plan nothing', () => {
  for (const status of ['paused', 'aborted'] as const) {
    const state: RolloutState = { rolloutId: 'r', releaseVersion: 2, stageIndex: 0, stageStartedAtMs: 0, status };
    const plan = planRollout(state, policy, fleet(10), 10 ** 9);
    assert.equal(plan.actions, []);
    assert.is(plan.next, state);
  }
});

test('policy validation names each problem', () => {
  assert.equal(policyProblems(policy), []);
  assert.ok(policyProblems({ ...policy, stagesPercent: [10, 5, 100] }).some((p) => p.includes('ascending')));
  assert.ok(policyProblems({ ...policy, stagesPercent: [10, 50] }).some((p) => p.includes('last stage')));
  assert.ok(policyProblems({ ...policy, failureThresholdPercent: 120 }).some((p) => p.includes('failure threshold')));
  assert.ok(policyProblems({ ...policy, minDevices: -1 }).some((p) => p.includes('min devices')));
});

test('a rollout with no device at all never advances nor completes, however long it soaks; the first device lets it go on', () => {
  const oneStage: RolloutPolicy = { ...policy, stagesPercent: [100], soakMs: 0 };
  for (const p of [policy, oneStage]) {
    let state = startRollout('r1', 2, p, [], 0).next;
    for (let t = 1; t <= 10; t++) {
      const plan = planRollout(state, p, [], t * 3_600_000);
      assert.equal(plan.actions, [], `${p.stagesPercent.length} stages, hour ${t}: nothing to publish`);
      assert.is(plan.next.status, 'running', 'not completed');
      assert.is(plan.next.stageIndex, 0, 'still the first stage');
      state = plan.next;
    }
  }
  const late = planRollout(startRollout('r1', 2, policy, [], 0).next, policy, fleet(20), 3_600_000);
  assert.is(late.actions.length, 1, 'with devices reporting, the stage goes on');
});

test.run();
