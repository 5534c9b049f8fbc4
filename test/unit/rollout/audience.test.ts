/**
 * Canary stages and who a signed stage names (pure): the planner's canary stage, the audience of a
 * group rollout (its members by id, nobody sampled), the halt naming nobody, and the key that says
 * whether the document on the wire is the one the state wants.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  audienceOnWire, cohortPpm, planRollout, wireAudience, wireKey, stageCount, stageLabel, startRollout, tallyStage, type DeviceFact, type RolloutPolicy,
} from '../../../fleet/src/rollout/index.js';
import type { ControllerState } from '../../../fleet/src/rollout/index.js';

const policy: RolloutPolicy = { stagesPercent: [50, 100], successThresholdPercent: 100, failureThresholdPercent: 0, minDevices: 1, soakMs: 0, canaries: ['c1'] };
const ids = ['c1', 'd1', 'd2', 'd3', 'd4', 'd5'];
const facts = (committed: readonly string[] = []): DeviceFact[] => ids.map((deviceId) => ({ deviceId, version: committed.includes(deviceId) ? 2 : 1, outcome: committed.includes(deviceId) ? 'committed' : 'idle' }));

test('a canary stage comes first, holds the canaries alone and waits for them', () => {
  assert.is(stageCount(policy), 3);
  assert.is(stageLabel(policy, 0), 'canaries (c1)');
  assert.is(stageLabel(policy, 1), '50 %');
  const start = startRollout('r', 2, policy, facts(), 0);
  assert.is(start.next.stagePpm, 0, 'nobody sampled in the canary stage');
  assert.equal(start.tally, { inStage: 1, committed: 0, failed: 0, pending: 1 });
  assert.equal(planRollout(start.next, policy, facts(), 1).actions, [], 'waits for the canary');
  const withoutCanary = facts().filter((f) => f.deviceId !== 'c1');
  assert.equal(planRollout(start.next, policy, withoutCanary, 1).actions, [], 'a canary that does not report holds the stage');
  const next = planRollout(start.next, policy, facts(['c1']), 2);
  assert.equal(next.actions, [{ kind: 'publish-stage', stageIndex: 1, ppm: 500_000 }]);
  assert.is(tallyStage('r', 2, 0, facts(), ['c1']).inStage, 1);
});

test('a failed canary halts the rollout in its first stage, named', () => {
  const start = startRollout('r', 2, { ...policy, failureThresholdPercent: 5 }, facts(), 0);
  const failed = facts().map((f) => (f.deviceId === 'c1' ? { ...f, outcome: 'failed' as const, outcomeVersion: 2, reason: '[HEALTH] no' } : f));
  const plan = planRollout(start.next, { ...policy, failureThresholdPercent: 5 }, failed, 1);
  assert.is(plan.next.status, 'halted');
  assert.match(plan.next.reason ?? '', /^stage 1 \(canaries \(c1\)\): 1 of 1 devices failed/);
});

function state(over: Partial<ControllerState>): ControllerState {
  return {
    format: 'ota-rollout/1', releaseDir: 'R', keysDir: 'K', broker: 'mqtt://x', protocolVersion: 4, hardware: ['hw'], policy, rolloutLifetimeMs: 1000, spreadSeconds: 0,
    rollout: { rolloutId: 'r', releaseVersion: 2, stageIndex: 1, stageStartedAtMs: 0, status: 'running' }, targetPpm: 500_000, published: null,
    tracking: {}, tally: { inStage: 0, committed: 0, failed: 0, pending: 0 }, ...over,
  };
}

test('a group rollout names its members below the stage, and the canaries, by id; nobody is sampled', () => {
  const members = ['c1', 'd1', 'd2', 'd3', 'd4', 'd5'];
  const a = wireAudience(state({ members }));
  assert.is(a.stagePpm, 0);
  assert.equal(a.devices, ['c1', ...members.filter((d) => d !== 'c1' && cohortPpm('r', d) < 500_000)].sort());
  assert.equal(wireAudience(state({ members, targetPpm: 0, rollout: { rolloutId: 'r', releaseVersion: 2, stageIndex: 0, stageStartedAtMs: 0, status: 'running' } })).devices, ['c1']);
  const halted = state({ members, targetPpm: 0, rollout: { rolloutId: 'r', releaseVersion: 2, stageIndex: 1, stageStartedAtMs: 0, status: 'halted', reason: 'x' } });
  assert.equal(wireAudience(halted), { devices: [], stagePpm: 0 }, 'a halt names nobody, canaries included');
});

test('without a group: the sampled stage and the canaries by id; the wire key tells what is published', () => {
  const s = state({});
  assert.equal(wireAudience(s), { devices: ['c1'], stagePpm: 500_000 });
  const published = { ppm: 500_000, rolloutVersion: 3, signedAtMs: 0, audience: wireKey(wireAudience(s)) };
  assert.ok(audienceOnWire({ ...s, published }));
  const halted = { ...s, targetPpm: 0, published, rollout: { ...s.rollout, status: 'halted' as const } };
  assert.not.ok(audienceOnWire(halted), 'the halt must be published');
  const { audience: _a, ...older } = published;
  assert.ok(audienceOnWire({ ...s, published: older }), 'an older state file: the ppm says it');
});

test.run();
