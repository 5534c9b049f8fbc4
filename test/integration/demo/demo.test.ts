/**
 * `npm run demo` as a program (the compiled demo, as scripts/demo.mjs runs it after
 * building), with a smaller fleet: real agents in their own processes, the embedded
 * broker and artifact server, a staged rollout. The summary it writes as JSON is
 * checked against what the demo claims; the run must leave no process or file behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { assertCompletedStory, revertedOf, runDemo, strings, workDir } from '../../support/demo-run.js';

test('npm run demo -- --devices 4: the failing device reverts on its own, the others commit v2, the delta is what is sent', async () => {
  const r = await runDemo(['--devices', '4']);
  assertCompletedStory(r, 4);
  assert.match(r.out, 'embedded MQTT broker mqtt://127.0.0.1:');
});

test('npm run demo -- --devices 4 --halt: a failure in the first stage halts the rollout; devices outside it never install', async () => {
  const r = await runDemo(['--devices', '4', '--halt']);
  assert.is(r.code, 0, r.out);
  const s = r.summary;
  assert.is(s['rolloutStatus'], 'halted');
  assert.equal(revertedOf(s['reverted']).map((x) => x.deviceId), [s['failingDevice']]);
  const untouched = strings(s['untouched']);
  assert.ok(untouched.length > 0, 'some devices were never offered the release');
  assert.is(untouched.length + strings(s['updated']).length + 1, 4);
  assert.match(r.out, /halted: stage \d/);
  assert.ok(!existsSync(workDir(r.out)), 'the temp directory is removed');
});

test.run();
