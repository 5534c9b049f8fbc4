/**
 * The retry schedule seen from the CDN: 10,000 simulated devices, each running
 * the downloader's Backoff (defaults) with a seeded random source, on a
 * simulated clock. Devices do not interact, so each device's attempt times are
 * generated in turn and binned by second.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DOWNLOAD_DEFAULTS } from '../../../agent/src/download/index.js';
import { Backoff, type BackoffOptions, type Random } from '../../../agent/src/time/index.js';
import { seededRandom } from '../../support/download.js';

const DEVICES = 10_000;
const SEED = 20261125;

/** Peak attempts in any one-second bin, counting attempts at or after `fromMs`. */
function peakPerSecond(startsMs: number[], outageEndMs: number, backoff: BackoffOptions, random: Random, fromMs = 0): { peak: number; attempts: number } {
  const bins = new Map<number, number>();
  let attempts = 0;
  for (const start of startsMs) {
    const b = new Backoff(backoff, random);
    for (let t = start; ; t += b.nextDelayMs()) {
      if (t >= fromMs) {
        bins.set(Math.floor(t / 1000), (bins.get(Math.floor(t / 1000)) ?? 0) + 1);
        attempts += 1;
      }
      if (t >= outageEndMs) break; // the CDN is back: this attempt succeeds
    }
  }
  return { peak: Math.max(...bins.values()), attempts };
}

// Scenario A: the notice reaches 10,000 devices at t = 0; each waits its spread (uniform over the rollout's 10-minute
// window W) and finds the CDN down until t = 30 min. Expected rate at the end of the window, with defaults base 1 s and
// cap 300 s: devices still ramping, N/W x (log2(cap/base) + 1) = 16.7/s x 9.2 = 154/s, plus devices at the cap,
// about (6/10 N) / (cap/2) = 40/s, so about 195/s on average. Stated bound: at most 3 % of the fleet (300 attempts) in
// any second, which leaves room for the Poisson spread of one-second bins. Without spread or jitter the whole fleet
// would hit in the same second.
test('10,000 devices, spread 10 min, CDN down 30 min: peak <= 300 attempts/s (3 % of the fleet)', () => {
  const random = seededRandom(SEED);
  const windowMs = 10 * 60_000;
  const starts = Array.from({ length: DEVICES }, () => Math.floor(random() * windowMs));
  const { peak, attempts } = peakPerSecond(starts, 30 * 60_000, DOWNLOAD_DEFAULTS.backoff, random);
  console.log(`# seed ${SEED}: ${attempts} attempts, peak ${peak}/s`);
  assert.ok(peak <= 300, `peak ${peak}/s`);
  const lockstep = peakPerSecond(new Array<number>(DEVICES).fill(0), 30 * 60_000, DOWNLOAD_DEFAULTS.backoff, () => 0.999999);
  assert.ok(lockstep.peak >= DEVICES, `no jitter, no spread: ${lockstep.peak}/s (the stampede the schedule avoids)`);
});

// Scenario B: 10,000 devices lose their connection at the same instant (t = 0) and the CDN stays down 30 min.
// The first retries fall within baseMs (that burst meets a CDN that is down); stated bound on what the CDN sees once
// it is back: at most 1 % of the fleet (100 attempts) in any second from t = 30 min on (each device's next attempt
// falls within cap of the recovery, on average cap/2: 2N/cap = 67/s, plus the Poisson spread). Fixed exponential backoff
// without jitter sends every device in the same second.
test('10,000 devices cut at once, CDN back after 30 min: peak after recovery <= 100 attempts/s (1 % of the fleet)', () => {
  const random = seededRandom(SEED + 1);
  const outageEndMs = 30 * 60_000;
  const { peak, attempts } = peakPerSecond(new Array<number>(DEVICES).fill(0), outageEndMs, DOWNLOAD_DEFAULTS.backoff, random, outageEndMs);
  console.log(`# seed ${SEED + 1}: ${attempts} attempts after recovery, peak ${peak}/s`);
  assert.ok(peak <= 100, `peak ${peak}/s`);
  const fixed = peakPerSecond(new Array<number>(DEVICES).fill(0), outageEndMs, DOWNLOAD_DEFAULTS.backoff, () => 0.999999, outageEndMs);
  assert.ok(fixed.peak >= DEVICES, `without jitter: ${fixed.peak}/s`);
});

test('Backoff: full jitter under min(cap, base * 2^n), reset starts over', () => {
  const draws = [0.5, 0.999, 0.25, 0.5, 0.5, 0.5];
  const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => draws.shift() ?? 0);
  assert.equal([b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs(), b.nextDelayMs()], [50, 199, 100, 400, 500]);
  assert.is(b.ceilingMs(), 1000);
  b.reset();
  assert.is(b.nextDelayMs(), 50);
});

test.run();
