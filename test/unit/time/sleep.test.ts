/** The one sleep: on an injected clock, cut short by an AbortSignal, its timer cancelled on abort. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sleep } from '../../../agent/src/time/index.js';
import { ManualClock } from '../../support/manual-clock.js';

test('a sleep ends when the clock reaches its time, not before', async () => {
  const clock = new ManualClock();
  let ended: string | undefined;
  const done = sleep(clock, 500).then((end) => { ended = end; });
  clock.advance(499);
  await Promise.resolve();
  assert.is(ended, undefined);
  clock.advance(1);
  await done;
  assert.is(ended, 'elapsed');
  assert.equal(clock.pending(), []);
});

test('an abort ends the sleep at once and cancels its timer; an aborted signal does not start one', async () => {
  const clock = new ManualClock();
  const controller = new AbortController();
  const done = sleep(clock, 60_000, controller.signal);
  assert.equal(clock.pending(), [60_000]);
  controller.abort();
  assert.is(await done, 'aborted');
  assert.equal(clock.pending(), [], 'the timer is cancelled');
  assert.is(await sleep(clock, 10, controller.signal), 'aborted');
  assert.equal(clock.pending(), []);
});

test.run();
