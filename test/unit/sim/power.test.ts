// The one power-on model (bootRuns): runs follow resets, each from what the last saved; a script
// that boots nothing says why, with the runs (and their saves) it made.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootRuns } from '../../../agent/src/sim/index.js';
import { bootScript } from '../../support/boot-device.js';

test('each run after a reset starts from what the run before saved', () => {
  const script = 'if test "${stage}" = "2"; then poweroff; fi\nif test "${stage}" = "1"; then setenv stage 2; else setenv stage 1; fi\nsaveenv\nreset\n';
  const r = bootRuns(script, null);
  assert.equal(r.runs.map((run) => run.nativeEnv?.get('stage') ?? null), ['1', '2', '2']);
  assert.equal(r.runs.map((run) => run.outcome.kind), ['reset', 'reset', 'poweroff']);
  assert.is(r.kernel, null);
  assert.match(r.failure, 'boot script ended with poweroff instead of booting a slot');
});

test('a script that resets forever stops after maxResets', () => {
  const r = bootRuns('reset\n', null, {}, 3);
  assert.is(r.runs.length, 4);
  assert.equal([r.kernel, r.failure], [null, 'no kernel booted after 3 resets of the boot script']);
});

test('the real boot script on a blank env boots slot A on the first power-on', () => {
  const r = bootRuns(bootScript(), null);
  assert.is(r.kernel?.slot, 'A');
  assert.match(r.kernel?.bootargs ?? '', 'ota.slot=A');
});

test.run();
