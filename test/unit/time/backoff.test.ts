/** Full-jitter backoff (the one for broker reconnects, resyncs and downloads) with injected random and clock. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Backoff, fullJitterDelayMs } from '../../../agent/src/time/index.js';

const options = { baseMs: 100, capMs: 3000, stableAfterMs: 10_000 };

test('the ceiling doubles per attempt up to the cap; random scales it', () => {
  const top = (): number => 0.999999;
  assert.equal([0, 1, 2, 3, 4, 5, 6].map((a) => fullJitterDelayMs(a, options, top)), [99, 199, 399, 799, 1599, 2999, 2999]);
  assert.equal([0, 3, 9].map((a) => fullJitterDelayMs(a, options, () => 0)), [0, 0, 0], 'full jitter reaches zero');
  assert.is(fullJitterDelayMs(5000, options, () => 0.5), 1500, 'huge attempt counts stay finite');
});

test('every delay lies in [0, min(cap, base * 2^attempt))', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
    const d = fullJitterDelayMs(attempt, options, () => r);
    return Number.isInteger(d) && d >= 0 && d < Math.min(options.capMs, options.baseMs * 2 ** attempt);
  }));
});

test('attempts grow across failures and reset only after a stable connection', () => {
  let now = 0;
  const b = new Backoff(options, () => 0.5, { nowMs: () => now });
  assert.equal([b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs()], [50, 100, 200]);
  b.connected();
  now += 1000; // dropped after 1 s: not stable, keep growing
  assert.is(b.nextDelayMs(), 400);
  b.connected();
  now += options.stableAfterMs;
  assert.is(b.nextDelayMs(), 50, 'a connection that lasted resets the count');
  assert.is(b.attempts, 1);
});

test('without stableAfterMs (a download) only reset() starts over; the ceiling is what the next delay is drawn under', () => {
  const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => 0.5);
  assert.equal([b.ceilingMs(), b.nextDelayMs(), b.ceilingMs(), b.nextDelayMs()], [100, 50, 200, 100]);
  b.connected();
  assert.is(b.nextDelayMs(), 200, 'no clock, no stable period: the count keeps growing');
  b.reset();
  assert.equal([b.attempts, b.nextDelayMs()], [0, 50]);
  assert.is(new Backoff({ baseMs: 0, capMs: 1000 }, () => 0.5).nextDelayMs(), 0, 'a base of 0 never retries later (no 0 x Infinity)');
});

test.run();
