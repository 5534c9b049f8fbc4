// The retried fleet round-trip: a ping lost with a dying connection does not fail the health check
// while the deadline allows another attempt; the deadline still ends it. An offline device's fleet
// check passes and says why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OFFLINE_FLEET_DETAIL, fleetProbeFor, retryingProbe } from '../../../agent/src/device/index.js';
import { validateAgentConfig } from '../../../agent/src/config/index.js';
import { FLEET_CHECK, runHealth, type FleetProbe } from '../../../agent/src/health/index.js';

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

test('an offline device (no mqtt section) passes its fleet check, and the outcome says it reached no broker', async () => {
  const config = validateAgentConfig({
    deviceId: 'dev-1', hardware: 'rpi-4', dataDir: '/var/lib/ota-agent', env: '/etc/fw_env.config',
    slots: { A: { device: '/dev/mmcblk0p2' }, B: { device: '/dev/mmcblk0p3' } },
  }, '/etc/ota-agent/agent.json');
  const result = await runHealth({ deadlineMs: 1_000, checks: [] }, { run: () => Promise.reject(new Error('no command runs')), fleet: fleetProbeFor(config, false) });
  assert.equal(result, { healthy: true, checks: [{ name: FLEET_CHECK, level: 'required', ok: true, detail: OFFLINE_FLEET_DETAIL }] });
});

test('a fleet probe without a passDetail reports the MQTT round-trip', async () => {
  const result = await runHealth({ deadlineMs: 1_000, checks: [] }, { run: () => Promise.reject(new Error('no command runs')), fleet: flaky(0) });
  assert.equal(result.checks.map((c) => c.detail), ['MQTT round-trip']);
});

test.run();
