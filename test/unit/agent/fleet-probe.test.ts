// The retried fleet round-trip: a ping lost with a dying connection does not fail the health check
// while the deadline allows another attempt; the deadline still ends it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { retryingProbe } from '../../../agent/src/agent/index.js';
import type { FleetProbe } from '../../../agent/src/health/index.js';

/** A probe whose first `lost` attempts never answer (until aborted), then answers. */
function flaky(lost: number): FleetProbe & { attempts: number } {
  const p = {
    attempts: 0,
    roundTrip(signal: AbortSignal): Promise<void> {
      p.attempts++;
      if (p.attempts > lost) return Promise.resolve();
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('no ping echo')), { once: true }));
    },
  };
  return p;
}

test('a lost ping is retried after the attempt timeout', async () => {
  const probe = flaky(2);
  await retryingProbe(probe, 20).roundTrip(new AbortController().signal);
  assert.is(probe.attempts, 3);
});

test('the outer deadline ends the retries with the last failure', async () => {
  const probe = flaky(1_000);
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(), 100);
  const outcome = await retryingProbe(probe, 20).roundTrip(deadline.signal).then(() => 'passed', (err: unknown) => (err instanceof Error ? err.message : 'odd'));
  assert.is(outcome, 'no ping echo');
  assert.ok(probe.attempts >= 2, `retried (${probe.attempts} attempts)`);
});

test.run();
