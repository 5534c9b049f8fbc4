/** runSeed: a randomized test's seed replays from its variable, is printed, and a bad value is refused. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runSeed } from '../../support/prng.js';

test('the variable replays a seed; unset or empty draws a fresh one', () => {
  assert.is(runSeed('OTA_X_SEED', { OTA_X_SEED: '909976' }), 909976);
  assert.is(runSeed('OTA_X_SEED', {}, () => 0.25), 250000);
  assert.is(runSeed('OTA_X_SEED', { OTA_X_SEED: '' }, () => 0.5), 500000);
});

for (const bad of ['abc', '1.5', '-3', '1e300']) {
  test(`OTA_X_SEED=${bad} is refused, naming the variable (never NaN, which seeds every run alike)`, () => {
    assert.throws(() => runSeed('OTA_X_SEED', { OTA_X_SEED: bad }), /OTA_X_SEED=.*want a non-negative integer/);
  });
}

test.run();
