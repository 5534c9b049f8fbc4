import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PPM, applyControl, cohortPpm, controlRefusal, deviceFact, eligible, failureReason, noteAttempts, planRollout, planStep, startRollout, trackStage,
  type ControllerState, type DeviceFact, type RolloutPolicy, type Target,
} from '../../../fleet/src/rollout/index.js';
import { parseStages } from '../../../fleet/src/cli/rollout.js';
import type { DeviceReport } from '../../../fleet/src/status/index.js';

const target: Target = { rolloutId: 'r1', releaseVersion: 2, hardware: ['hw'] };
const report = (deviceId: string, over: Partial<DeviceReport> = {}): DeviceReport => ({
  deviceId, version: 1, phase: 'idle', progress: null, lastError: null, booted: 'A', seq: 1, bootId: 'b', updatedAt: '2030-01-01T00:00:00.000Z', ...over,
});

test('rollouts per channel: only the devices following the rollout\'s channel take part (an agent without channels follows stable)', () => {
  const next: Target = { ...target, channel: 'next' };
  const devices = [report('s1'), report('s2', { channel: 'stable' }), report('n1', { channel: 'next' }), report('n2', { channel: 'next', hardware: 'hw2' })];
  assert.equal(devices.filter((r) => eligible(r, next)).map((r) => r.deviceId), ['n1']);
  assert.equal(devices.filter((r) => eligible(r, target)).map((r) => r.deviceId), ['s1', 's2']);
  assert.equal(Object.keys(trackStage({}, devices, next, PPM)), ['n1']);
});

test('a device at or above the release is committed; a busy one is installing or trying', () => {
  assert.is(deviceFact(report('d', { version: 2 }), undefined, 2).outcome, 'committed');
  assert.is(deviceFact(report('d', { version: 3, lastError: 'old' }), undefined, 2).outcome, 'committed');
  assert.is(deviceFact(report('d', { phase: 'installing', progress: 0.5 }), undefined, 2).outcome, 'installing');
  assert.is(deviceFact(report('d', { phase: 'checking' }), undefined, 2).outcome, 'trying');
  assert.is(deviceFact(report('d', { version: 2, phase: 'checking' }), undefined, 2).outcome, 'trying', 'on trial, not committed');
});

test('failed: after an attempt, with an error that is new since targeting, or as the optional lastUpdate says', () => {
  const err = 'health check failed';
  assert.equal(deviceFact(report('d', { lastError: err }), { baselineError: null, attempted: false }, 2), { deviceId: 'd', version: 1, outcome: 'failed', outcomeVersion: 2, reason: err });
  assert.is(deviceFact(report('d', { lastError: err }), { baselineError: err, attempted: true }, 2).outcome, 'failed');
  assert.is(deviceFact(report('d', { lastError: err }), { baselineError: err, attempted: false }, 2).outcome, 'idle', 'an error older than the stage is not this release\'s');
  assert.is(deviceFact(report('d', { lastError: err }), undefined, 2).outcome, 'idle', 'untracked devices were never targeted');
  assert.is(deviceFact(report('d', { lastUpdate: { outcome: 'reverted', version: 2 } }), undefined, 2).outcome, 'failed');
  assert.is(deviceFact(report('d', { lastUpdate: { outcome: 'reverted', version: 1 } }), undefined, 2).outcome, 'idle');
});

test('a failed device carries its own reason: [CODE] message from lastUpdate, lastError from an older agent, one bounded line', () => {
  const http = { outcome: 'failed', version: 2, error: 'download: 404 Not Found on http://127.0.0.1:1/t/delta.otadelta', errorCode: 'DOWNLOAD_HTTP' };
  assert.is(deviceFact(report('dev-07', { lastError: http.error, lastUpdate: http }), undefined, 2).reason, '[DOWNLOAD_HTTP] download: 404 Not Found on http://127.0.0.1:1/t/delta.otadelta');
  assert.is(failureReason(report('d', { lastError: 'old agent\nsays this' })), 'old agent says this');
  assert.is(failureReason(report('d', { lastUpdate: { outcome: 'reverted', version: 2 } })), 'reverted without a reason');
  const long = failureReason(report('d', { lastUpdate: { outcome: 'failed', version: 2, error: 'x'.repeat(5000), errorCode: 'E' } }));
  assert.is(long.length, '[E] '.length + 200);
  // the halt names the failed devices with their reasons, sorted, and counts those it does not name
  const fleet = Array.from({ length: 8 }, (_, k) => report(`dev-${k}`, { lastUpdate: { ...http, error: `404 on dev-${k}` } }));
  const s0 = startRollout('r1', 2, { stagesPercent: [100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 1, soakMs: 0 }, [], 0);
  const state: ControllerState = {
    format: 'ota-rollout/1', releaseDir: 'R', keysDir: 'K', broker: 'mqtt://127.0.0.1', protocolVersion: 4, hardware: ['hw'],
    policy: { stagesPercent: [100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 1, soakMs: 0 }, rolloutLifetimeMs: 1, spreadSeconds: 0,
    rollout: s0.next, targetPpm: PPM, published: null, tracking: {}, tally: s0.tally,
  };
  const { next } = planStep(state, fleet, 1);
  assert.is(next.rollout.status, 'halted');
  assert.ok(next.rollout.reason?.endsWith(': 8 of 8 devices failed (100.0 % > 5 %): dev-0 [DOWNLOAD_HTTP] 404 on dev-0; dev-1 [DOWNLOAD_HTTP] 404 on dev-1; dev-2 [DOWNLOAD_HTTP] 404 on dev-2; dev-3 [DOWNLOAD_HTTP] 404 on dev-3; dev-4 [DOWNLOAD_HTTP] 404 on dev-4; and 3 more (rollout status --json lists them)'), next.rollout.reason);
  assert.equal(next.tally.failures?.map((f) => f.deviceId), fleet.map((r) => r.deviceId));
});

test('trackStage records baselines for eligible devices inside the ppm only; noteAttempts marks busy ones', () => {
  const ids = Array.from({ length: 50 }, (_, k) => `dev-${k}`);
  const reports = ids.map((id) => report(id, { lastError: `e-${id}` }));
  const ppm = 300_000;
  const t = trackStage({}, [...reports, report('other', { hardware: 'hw2' })], target, ppm);
  assert.equal(Object.keys(t).sort(), ids.filter((id) => cohortPpm('r1', id) < ppm).sort());
  const some = Object.keys(t)[0] ?? '';
  assert.equal(t[some], { baselineError: `e-${some}`, attempted: false });
  assert.is(noteAttempts(t, reports), t, 'unchanged when nobody is busy');
  assert.is(noteAttempts(t, [report(some, { phase: 'installing' })])[some]?.attempted, true);
  assert.is(trackStage(t, [report(some, { lastError: 'new' })], target, PPM)[some]?.baselineError, `e-${some}`, 'a baseline is never replaced');
});

const policy: RolloutPolicy = { stagesPercent: [10, 100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 5, soakMs: 0 };

function controllerState(reports: readonly DeviceReport[]): ControllerState {
  const facts: DeviceFact[] = reports.map((r) => deviceFact(r, undefined, 2));
  const plan = startRollout('r1', 2, policy, facts, 0);
  const ppm = plan.next.stagePpm ?? 0;
  return {
    format: 'ota-rollout/1', releaseDir: 'R', keysDir: 'K', broker: 'mqtt://x', protocolVersion: 4, hardware: ['hw'], policy,
    rolloutLifetimeMs: 86_400_000, spreadSeconds: 0, rollout: plan.next, targetPpm: ppm, published: null,
    tracking: trackStage({}, reports, target, ppm), tally: plan.tally,
  };
}

test('planStep: the stage stays the published one as more devices report; failures halt and target nobody', () => {
  const ids = Array.from({ length: 20 }, (_, k) => `dev-${k}`);
  const s = controllerState(ids.map((id) => report(id)));
  const inStage = ids.filter((id) => cohortPpm('r1', id) < s.targetPpm);
  assert.is(inStage.length, 5, 'the 10 % stage of 20 devices is widened to 5');
  assert.ok(s.targetPpm > 100_000);
  const more = [...ids, ...Array.from({ length: 200 }, (_, k) => `late-${k}`)].map((id) => report(id));
  const waiting = planStep(s, more, 1);
  const targeted = more.filter((r) => cohortPpm('r1', r.deviceId) < s.targetPpm);
  assert.ok(targeted.length > 30);
  assert.is(waiting.next.tally.inStage, targeted.length, 'tallied over every device the published document targets, not a stage recomputed smaller');
  assert.equal(waiting.actions, []);
  const failing = more.map((r) => (inStage.includes(r.deviceId) ? { ...r, lastError: 'health check failed' } : r));
  const tracked = { ...s, tracking: trackStage(s.tracking, more, target, s.targetPpm) };
  const halted = planStep(tracked, failing.map((r) => (targeted.some((t) => t.deviceId === r.deviceId) ? { ...r, lastError: 'health check failed' } : r)), 2);
  assert.is(halted.next.rollout.status, 'halted');
  assert.is(halted.next.targetPpm, 0);
  const done = planStep(s, more.map((r) => (targeted.includes(r) ? { ...r, version: 2 } : r)), 3);
  assert.is(done.actions[0]?.kind, 'publish-stage');
  assert.is(done.next.targetPpm, PPM);
  assert.is(Object.keys(done.next.tracking).length, more.length, 'the last stage tracks every device');
});

test('applyControl: pause only a running rollout, resume a paused one, abort targets nobody; final states stay', () => {
  const s = controllerState([report('a'), report('b')]);
  const paused = applyControl(s, 'pause');
  assert.is(paused.rollout.status, 'paused');
  assert.is(applyControl(s, 'resume'), s);
  assert.is(applyControl(paused, 'resume').rollout.status, 'running');
  const aborted = applyControl(paused, 'abort');
  assert.equal([aborted.rollout.status, aborted.targetPpm], ['aborted', 0]);
  assert.is(applyControl(aborted, 'resume'), aborted);
  assert.equal(planRollout(paused.rollout, policy, [], 1e12).actions, [], 'a paused rollout never advances');
});

test('controlRefusal: every request that would change nothing is refused, typed, saying why and what to do instead', () => {
  const running = controllerState([report('a'), report('b')]);
  const at = (status: ControllerState['rollout']['status'], reason?: string): ControllerState =>
    ({ ...running, rollout: { ...running.rollout, status, ...(reason === undefined ? {} : { reason }) } });
  const allowed: Record<string, string[]> = { running: ['pause', 'abort'], paused: ['resume', 'abort'], halted: ['resume', 'abort'], aborted: [], completed: [] };
  for (const status of ['running', 'paused', 'halted', 'aborted', 'completed'] as const) {
    for (const action of ['pause', 'resume', 'abort'] as const) {
      const refused = controlRefusal(at(status, status === 'halted' ? 'stage 1 (10 %): 2 of 5 devices failed' : undefined), action);
      assert.is(refused === undefined, allowed[status]?.includes(action), `${action} on ${status}`);
      if (refused !== undefined) {
        assert.is(refused.code, 'ROLLOUT_CONTROL_REFUSED');
        assert.match(refused.message, `rollout r1 is ${status}`);
        assert.match(refused.message, `nothing to ${action}; `);
      }
    }
  }
  assert.match(controlRefusal(at('halted', 'x'), 'pause')?.message ?? '', 'is halted (x): nothing to pause; fix the cause and resume it, abort it, or start a new rollout of a fixed release');
});

test('resume after a halt: the halted stage on the wire again, its failures excused until the device publishes a new status document', () => {
  const ids = Array.from({ length: 20 }, (_, k) => `dev-${k}`);
  const s = controllerState(ids.map((id) => report(id)));
  const inStage = ids.filter((id) => cohortPpm('r1', id) < s.targetPpm);
  const failing = ids.map((id) => report(id, inStage.includes(id) ? { lastError: '404', lastUpdate: { outcome: 'failed', version: 2, error: '404', errorCode: 'DOWNLOAD_HTTP' }, seq: 5 } : {}));
  const halted = planStep(s, failing, 1).next;
  assert.equal([halted.rollout.status, halted.targetPpm], ['halted', 0]);
  const aborted = applyControl(halted, 'abort', failing);
  assert.equal([aborted.rollout.status, aborted.targetPpm], ['aborted', 0]);
  assert.match(aborted.rollout.reason ?? '', 'aborted by the operator after a halt (stage 1');
  const resumed = applyControl(halted, 'resume', failing);
  assert.equal([resumed.rollout.status, resumed.rollout.reason, resumed.targetPpm, resumed.rollout.stageIndex], ['running', undefined, s.targetPpm, 0]);
  assert.equal(resumed.earlierHalts, [halted.rollout.reason], 'the record keeps why it halted');
  const waiting = planStep(resumed, failing, 2);
  assert.is(waiting.next.rollout.status, 'running', 'the failures reported before the resume do not halt it again');
  assert.equal([waiting.next.tally.failed, waiting.next.tally.pending], [0, inStage.length]);
  const first = inStage[0] ?? '';
  const fixed = failing.map((r) => (r.deviceId === first ? { ...r, version: 2, seq: 9, lastError: null } : r));
  assert.is(planStep(waiting.next, fixed, 3).next.tally.committed, 1, 'a device that installed after the fix counts');
  const again = failing.map((r) => (inStage.includes(r.deviceId) ? { ...r, seq: 6 } : r));
  const rehalted = planStep(waiting.next, again, 4).next;
  assert.is(rehalted.rollout.status, 'halted', 'a failure reported after the resume counts');
});

test('--stages reads ascending percentages; anything else is a usage error', () => {
  assert.equal(parseStages('1,10,50,100'), [1, 10, 50, 100]);
  assert.equal(parseStages(' 0.5, 100'), [0.5, 100]);
  for (const bad of ['', '1,,100', '10%,100', 'a', '-1,100']) assert.throws(() => parseStages(bad), /--stages/);
});

test.run();
