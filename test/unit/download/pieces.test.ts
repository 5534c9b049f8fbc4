import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SpeedMeter, TokenBucket, checkPlan, parseRetryAfterMs, strongValidator, type DownloadPlan,
} from '../../../agent/src/download/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { ManualClock, planFor } from '../../support/download.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('SpeedMeter: no byte for stallTimeoutMs rejects DOWNLOAD_STALL and aborts', async () => {
  const clock = new ManualClock();
  const meter = new SpeedMeter({ stallTimeoutMs: 1000, minBytesPerSecond: 0, windowMs: 5000 }, clock, 'test');
  let aborted = false;
  const p = meter.wait(new Promise<never>(() => undefined), () => { aborted = true; });
  clock.advance(999);
  assert.is(aborted, false);
  clock.advance(1);
  await p.then(() => assert.unreachable(), (err: unknown) => assert.is(err instanceof OtaError ? err.code : err, 'DOWNLOAD_STALL'));
  assert.ok(aborted);
});

test('SpeedMeter: a trickle under the floor over the window rejects DOWNLOAD_TRICKLE; time outside wait() is not charged', async () => {
  const clock = new ManualClock();
  const meter = new SpeedMeter({ stallTimeoutMs: 10_000, minBytesPerSecond: 1000, windowMs: 4000 }, clock, 'test');
  let failure = '';
  for (let i = 0; i < 10 && failure === ''; i++) {
    let deliver = (): void => undefined;
    const read = new Promise<number>((r) => { deliver = () => r(500); });
    const p = meter.wait(read, () => undefined).then((n) => meter.received(n), (e: unknown) => { failure = e instanceof OtaError ? e.code : 'other'; });
    clock.advance(900); // 500 bytes per 900 ms of waiting: under 1000 B/s
    deliver();
    await p;
    clock.advance(60_000); // the consumer is slow: not charged to the network
  }
  assert.is(failure, 'DOWNLOAD_TRICKLE');
  const fast = new SpeedMeter({ stallTimeoutMs: 10_000, minBytesPerSecond: 1000, windowMs: 4000 }, clock, 'test');
  for (let i = 0; i < 10; i++) {
    const p = fast.wait(Promise.resolve(2000), () => undefined);
    clock.advance(900);
    const n = await p;
    fast.received(n);
    assert.is(n, 2000, 'above the floor: every read goes through');
  }
});

test('TokenBucket: a burst passes, then the rate holds', async () => {
  const clock = new ManualClock();
  const bucket = new TokenBucket({ bytesPerSecond: 1000, burstBytes: 500 }, clock);
  await bucket.take(500);
  let done = false;
  const p = bucket.take(1000).then(() => { done = true; });
  await flush();
  assert.equal(clock.pending(), [1000]);
  clock.advance(999);
  await flush();
  assert.is(done, false);
  clock.advance(1);
  await p;
  assert.ok(done);
});

test('parseRetryAfterMs: seconds, an HTTP date, junk', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  assert.is(parseRetryAfterMs('120', now), 120_000);
  assert.is(parseRetryAfterMs(new Date(now + 30_000).toUTCString(), now), 30_000);
  assert.is(parseRetryAfterMs(new Date(now - 30_000).toUTCString(), now), 0);
  assert.is(parseRetryAfterMs('soon', now), undefined);
  assert.is(parseRetryAfterMs(null, now), undefined);
});

test('strongValidator: strong ETag first, weak ETag never, Last-Modified only when a second older than Date', () => {
  const lm = 'Thu, 01 Jan 2026 00:00:00 GMT';
  const later = 'Thu, 01 Jan 2026 00:00:01 GMT';
  assert.is(strongValidator('"abc"', lm, later), '"abc"');
  assert.is(strongValidator('W/"abc"', lm, later), lm);
  assert.is(strongValidator(null, lm, later), lm);
  assert.is(strongValidator(null, lm, lm), undefined, 'modified in the same second as sent: weak');
  assert.is(strongValidator(null, lm, null), undefined, 'no Date: cannot tell');
  assert.is(strongValidator('W/"abc"', null, later), undefined);
  assert.is(strongValidator(null, null, null), undefined);
});

test('checkPlan refuses gaps, overlaps, bad hashes, wrong totals and non-http mirrors', () => {
  const good = planFor(Buffer.alloc(100, 1), ['http://127.0.0.1:1/f'], 30);
  checkPlan(good);
  const s0 = good.segments[0];
  if (s0 === undefined) throw new Error('no segment');
  const bad: DownloadPlan[] = [
    { ...good, urls: [] },
    { ...good, urls: ['ftp://127.0.0.1/f'] },
    { ...good, totalSizeBytes: 101 },
    { ...good, segments: good.segments.slice(1) },
    { ...good, segments: [{ ...s0, sha256: 'XYZ' }, ...good.segments.slice(1)] },
    { ...good, segments: [{ ...s0, sizeBytes: 31 }, ...good.segments.slice(1)] },
  ];
  for (const plan of bad) {
    assert.throws(() => checkPlan(plan), (err: unknown) => err instanceof OtaError && err.code === 'DOWNLOAD_BAD_PLAN');
  }
});

test.run();
