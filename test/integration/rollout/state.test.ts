/**
 * The controller's state file and its companions on a real file system, and the
 * save-then-publish order: a publish that fails (the controller dies there) is
 * redone from the saved state by the next step.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  claimLock, createRollout, liveController, loadState, requestControl, saveState, startRollout, stateFiles, step, takeControl,
  type ControllerState, type RolloutPolicy, type StepPorts,
} from '../../../fleet/src/rollout/index.js';
import { serveRolloutDocument } from '../../../fleet/src/publish/index.js';
import { tempDir } from '../../support/tools.js';

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return `${err instanceof Error && 'code' in err ? String(err.code) : ''} ${String(err)}`;
  }
  assert.unreachable('resolved where a rejection was expected');
  return '';
}

const policy: RolloutPolicy = { stagesPercent: [50, 100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 1, soakMs: 0 };

function fresh(): ControllerState {
  const plan = startRollout('r1', 2, policy, [], 0);
  return {
    format: 'ota-rollout/1', releaseDir: 'R', keysDir: 'K', broker: 'mqtt://127.0.0.1:1', protocolVersion: 4, hardware: ['hw'], policy,
    rolloutLifetimeMs: 86_400_000, spreadSeconds: 0, rollout: plan.next, targetPpm: plan.next.stagePpm ?? 0, published: null,
    tracking: { 'dev-1': { baselineError: 'old', attempted: true } }, tally: plan.tally,
  };
}

test('the state file round-trips; a damaged one is refused, never reset', async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'rollout.json');
    assert.match(await rejection(loadState(file)), /ROLLOUT_STATE_MISSING/);
    await saveState(file, fresh());
    assert.equal(await loadState(file), fresh());
    writeFileSync(file, '{"format":"ota-rollout/1","broker":1}');
    try {
      await loadState(file);
      assert.unreachable('a damaged state file was read');
    } catch (err) {
      assert.match(String(err), /rollout\.json/);
      assert.is(err instanceof Error && 'code' in err ? err.code : undefined, 'ROLLOUT_STATE_DAMAGED');
    }
    // rollout start does not overwrite a damaged record either (refused before any broker or HTTP is asked)
    const start = createRollout({
      stateFile: file, releaseDir: join(t.dir, 'R'), keysDir: join(t.dir, 'K'), broker: 'mqtt://127.0.0.1:9', protocolVersion: 4, policy,
      rolloutLifetimeMs: 86_400_000, spreadSeconds: 0, settleMs: 0, nowMs: 0, artifactsUrl: 'http://127.0.0.1:9/',
    });
    assert.match(await rejection(start), /ROLLOUT_STATE_DAMAGED/);
    assert.is(readFileSync(file, 'utf8'), '{"format":"ota-rollout/1","broker":1}', 'the damaged file is left as it was');
  } finally {
    t.cleanup();
  }
});

test('control requests are taken once; the lock refuses a second live controller and ignores a dead one', async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'rollout.json');
    await requestControl(file, 'pause');
    await requestControl(file, 'abort');
    assert.is(await takeControl(file), 'abort', 'the latest request wins');
    assert.is(await takeControl(file), undefined);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(stateFiles(file).lock, `${other.pid ?? 0}\n`);
      assert.is(await liveController(file), other.pid);
      assert.match(await rejection(claimLock(file)), /ROLLOUT_BUSY.*already runs/);
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    assert.is(await liveController(file), undefined, 'a dead pid holds nothing');
    const release = await claimLock(file);
    assert.is(await liveController(file), process.pid);
    await release();
    assert.is(await liveController(file), undefined);
  } finally {
    t.cleanup();
  }
});

test('a publish that fails after the state was saved is redone by the next step', async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'rollout.json');
    const served = join(t.dir, 'served');
    await saveState(file, { ...fresh(), servedDir: served });
    const published: number[] = [];
    let fail = true;
    let version = 10;
    const ports: StepPorts = {
      nowMs: () => 1, log: () => undefined,
      sign: (_s, ppm) => Promise.resolve({ version: ++version, noticeBytes: Buffer.from(String(ppm)), expiresMs: 86_400_001 }),
      publishRetained: (_topic, bytes) => {
        if (fail) return Promise.reject(new Error('broker gone'));
        published.push(Number(Buffer.from(bytes).toString()));
        return Promise.resolve();
      },
      serveDocument: async (dir, hardware, bytes) => { await serveRolloutDocument(dir, hardware, bytes); },
      checkArtifacts: () => Promise.resolve(),
    };
    assert.match(await rejection(step(file, await loadState(file), [], ports)), /broker gone/);
    assert.is((await loadState(file)).published, null, 'nothing is recorded as published');
    fail = false;
    await requestControl(file, 'abort');
    const s = await step(file, await loadState(file), [], ports);
    assert.equal(published, [0], 'the abort is published: the halt, targeting nobody');
    assert.equal([s.rollout.status, s.published?.ppm, s.published?.rolloutVersion], ['aborted', 0, 12]);
    for (const hw of s.hardware) assert.is(readFileSync(join(served, 'rollout', `${hw}.json`), 'utf8'), '0', `the served rollout/${hw}.json is the published halt`);
    assert.equal(await loadState(file), s);
  } finally {
    t.cleanup();
  }
});

test.run();
