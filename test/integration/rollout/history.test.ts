/**
 * After a halt: pause/resume/abort refuse what would change nothing (typed, exit 1); resume re-checks the
 * artifacts and publishes the halted stage again; abort ends it; a new rollout keeps the old one's record
 * (rollout list, rollout show ID, --json).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { cohortPpm, loadState } from '../../../fleet/src/rollout/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { deviceSpecs, fleetOk, withServedFleet } from '../../support/fleet-rig.js';
import { runMain } from '../../support/tools.js';

const fast = ['--tick-ms', '100', '--settle-ms', '300'];

/** One typed line on stderr, exit 1. */
function refusedWith(r: { code: number; stderr: string }, code: string, says: string): void {
  assert.is(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', says);
  assert.match(lines[0] ?? '', `[${code}]`);
}

const ids = deviceSpecs(20).map((d) => d.deviceId).sort((a, b) => cohortPpm('first', a) - cohortPpm('first', b));
const firstTwo = new Set(ids.slice(0, 2));

test('a halted rollout: pause refused, resume re-checks and republishes its stage, abort ends it; a new rollout keeps the history', () => withServedFleet('aedes', deviceSpecs(20, (id) => firstTwo.has(id)), async (rig, broker, server) => {
  const file = join(rig.dir, 'ota-rollout.json');
  const start = (id: string, gatesPercent = ['80', '5']): Promise<{ code: number; stdout: string; stderr: string }> => runMain(fleet, ['rollout', 'start', 'R',
    '--stages', '10,50,100', '--success-threshold', gatesPercent[0] ?? '', '--failure-threshold', gatesPercent[1] ?? '', '--min-devices', '4', '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--id', id, ...fast], { cwd: rig.dir });
  assert.is((await start('first')).code, 1, 'halted');
  const halted = await loadState(file);
  assert.equal([halted.rollout.status, halted.published?.ppm], ['halted', 0]);

  refusedWith(await runMain(fleet, ['rollout', 'pause', ...fast], { cwd: rig.dir }), 'ROLLOUT_CONTROL_REFUSED', 'rollout first is halted (stage 1');
  assert.equal(await loadState(file), halted, 'a refused request changes nothing');

  // resume re-checks the artifacts: while one is missing it is refused and nothing changes
  const art = join(rig.release, 'targets');
  renameSync(art, `${art}.away`);
  refusedWith(await runMain(fleet, ['rollout', 'resume', ...fast], { cwd: rig.dir }), 'ARTIFACT_UNREACHABLE', server.url);
  assert.equal(await loadState(file), halted);
  renameSync(`${art}.away`, art);
  const resumed = await runMain(fleet, ['rollout', 'resume', ...fast], { cwd: rig.dir });
  assert.is(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, 'resumed: continue it with ota-fleet rollout run');
  const back = await loadState(file);
  assert.equal([back.rollout.status, back.rollout.stageIndex, back.targetPpm, back.published?.ppm], ['running', 0, halted.rollout.stagePpm, halted.rollout.stagePpm]);
  assert.ok((back.published?.rolloutVersion ?? 0) > (halted.published?.rolloutVersion ?? 0), 'the stage is signed and published again');
  refusedWith(await runMain(fleet, ['rollout', 'resume', ...fast], { cwd: rig.dir }), 'ROLLOUT_CONTROL_REFUSED', 'is running');

  const aborted = await runMain(fleet, ['rollout', 'abort', ...fast], { cwd: rig.dir });
  assert.match(aborted.stdout, 'aborted');
  const over = await loadState(file);
  assert.equal([over.rollout.status, over.published?.ppm], ['aborted', 0]);
  for (const action of ['pause', 'resume', 'abort']) {
    refusedWith(await runMain(fleet, ['rollout', action, ...fast], { cwd: rig.dir }), 'ROLLOUT_CONTROL_REFUSED', `rollout first is aborted`);
  }

  // a new rollout (one that tolerates the two failing devices) keeps the old record
  refusedWith(await start('first'), 'ROLLOUT_ID_USED', '--id first');
  const second = await start('second', ['50', '50']);
  assert.is(second.code, 0, second.stderr + second.stdout);
  assert.ok(existsSync(join(rig.dir, 'ota-rollouts', 'first.json')), 'the old record is in the history');
  const list = await fleetOk(rig.dir, ['rollout', 'list']);
  const lines = list.trim().split('\n');
  assert.is(lines.length, 2, list);
  assert.match(lines[0] ?? '', /^first {2}release 2 {2}aborted {2}stage 1\/3 {2}started \S+ {2}\(aborted by the operator\)$/, list);
  assert.match(lines[1] ?? '', /^second {2}release 2 {2}completed {2}stage 3\/3 /, list);
  const json: unknown = JSON.parse(await fleetOk(rig.dir, ['rollout', 'list', '--json']));
  const rollouts: unknown = typeof json === 'object' && json !== null ? Reflect.get(json, 'rollouts') : undefined;
  assert.ok(Array.isArray(rollouts));
  assert.equal(rollouts.map((r: unknown) => (typeof r === 'object' && r !== null ? Reflect.get(Reflect.get(r, 'rollout'), 'status') : undefined)), ['aborted', 'completed']);
  const shown = await fleetOk(rig.dir, ['rollout', 'show', 'first']);
  assert.match(shown, 'rollout first: release 2');
  assert.match(shown, /halted before, then resumed: stage 1 \(\S+ %\): 2 of \d+ devices failed \(\S+ % > 5 %\): dev-\d+ \[HEALTH_REQUIRED_FAILED\]/, 'the record keeps why it halted');
  const one: unknown = JSON.parse(await fleetOk(rig.dir, ['rollout', 'show', 'first', '--json']));
  assert.is(typeof one === 'object' && one !== null ? Reflect.get(Reflect.get(one, 'rollout'), 'rolloutId') : undefined, 'first');
  refusedWith(await runMain(fleet, ['rollout', 'show', 'nope'], { cwd: rig.dir }), 'ROLLOUT_UNKNOWN', 'recorded: first, second');
}));

test.run();
