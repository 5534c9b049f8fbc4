/**
 * The downloader on an injected clock and random source against the real
 * server: the retry delays are the full-jitter schedule, the start waits its
 * spread, and the bandwidth cap holds (in simulated time).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Download, type DownloadOptions } from '../../../agent/src/download/index.js';
import { Backoff } from '../../../agent/src/time/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { RangeServer } from '../../support/range-server.js';
import { ManualClock, planFor, randomBytesSeeded, seededRandom } from '../../support/download.js';
import { tempDir } from '../../support/tools.js';

const BODY = randomBytesSeeded(64 * 1024, 5);
const FAR = 1e9; // stall limits far beyond any simulated wait, so only the download's own sleeps are due
const LIMITS = { stallTimeoutMs: FAR, minBytesPerSecond: 0, windowMs: FAR };

/**
 * Run a download (`options`, or a Download already made) on `clock`, advancing it whenever the download sleeps (a
 * timer due before FAR) until it settles, however long that takes in real time; returns the error, if any.
 */
async function drive(clock: ManualClock, options: DownloadOptions | Download, beforeAdvance: (dueMs: number) => void = () => undefined): Promise<OtaError | undefined> {
  let settled = false;
  let error: OtaError | undefined;
  const run = (options instanceof Download ? options : new Download(options)).run().then(() => undefined, (err: unknown) => { if (err instanceof OtaError) error = err; else throw err; })
    .finally(() => { settled = true; });
  while (!settled) {
    await new Promise((r) => setTimeout(r, 1));
    const due = clock.pending().find((t) => t < FAR / 2);
    if (due !== undefined) { beforeAdvance(due); clock.advance(due - clock.nowMs()); }
  }
  await run;
  return error;
}

test('retry delays follow the full-jitter schedule of the injected random source', async () => {
  const s = await new RangeServer(BODY).start();
  const t = tempDir();
  try {
    s.always = { kind: 'status', status: 500 };
    const clock = new ManualClock();
    const backoff = { baseMs: 1000, capMs: 4000 };
    const delays: number[] = [];
    const d = new Download({ plan: planFor(BODY, [s.url()], 16 * 1024), stateDir: t.dir, onSegment: async () => undefined,
      clock, random: seededRandom(42), backoff, limits: LIMITS, maxAttemptsPerMirror: 5 });
    d.on('retry', (e) => delays.push(e.delayMs));
    // driven until it settles: a fixed number of polls could stop short on a loaded machine and leave run() waiting
    const error = await drive(clock, d);
    const expected = new Backoff(backoff, seededRandom(42));
    assert.equal(delays, [expected.nextDelayMs(), expected.nextDelayMs(), expected.nextDelayMs(), expected.nextDelayMs(), 0]);
    assert.is(s.requests.length, 5);
    assert.is(error?.code, 'DOWNLOAD_HTTP');
  } finally { t.cleanup(); await s.close(); }
});

test('a fresh download waits random x spreadWindowMs before its first request', async () => {
  const s = await new RangeServer(BODY).start();
  const t = tempDir();
  try {
    const clock = new ManualClock();
    const requestsBefore: number[] = [];
    const error = await drive(clock, { plan: planFor(BODY, [s.url()], 16 * 1024, 60_000), stateDir: t.dir, onSegment: async () => undefined,
      clock, random: () => 0.25, limits: LIMITS }, (due) => requestsBefore.push(due, s.requests.length));
    assert.is(error, undefined);
    assert.equal(requestsBefore.slice(0, 2), [15_000, 0], 'no request before the spread delay');
    assert.is(s.requests.length, 1);
  } finally { t.cleanup(); await s.close(); }
});

test('the bandwidth cap holds: 64 KiB at 8 KiB/s with a 4 KiB burst takes 7.5 s of simulated time', async () => {
  const s = await new RangeServer(BODY).start();
  const t = tempDir();
  try {
    const clock = new ManualClock();
    const error = await drive(clock, { plan: planFor(BODY, [s.url()], 16 * 1024), stateDir: t.dir, onSegment: async () => undefined,
      clock, limits: LIMITS, bandwidthCap: { bytesPerSecond: 8192, burstBytes: 4096 } });
    assert.is(error, undefined);
    assert.is(clock.nowMs(), ((BODY.length - 4096) * 1000) / 8192);
  } finally { t.cleanup(); await s.close(); }
});

test.run();
