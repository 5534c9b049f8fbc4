/**
 * The health check's fleet round-trip outside the daemon (`post-boot` runs as
 * its own systemd unit): connect, ping through the broker, disconnect. A device
 * without an `mqtt` section is offline by design (updates come by `install`):
 * its round-trip passes, and says so.
 * A ping lost with a dying connection never comes back: each attempt has its own
 * timeout and the round-trip is retried until the health deadline.
 */
import type { AgentConfig } from '../config/index.js';
import { OtaError } from '../errors/index.js';
import type { FleetProbe } from '../health/index.js';
import { Transport } from '../transport/index.js';
import { monotonicClock, sleep } from '../time/index.js';

/** What the fleet check of an offline device (no `mqtt` section) reports when it passes. */
export const OFFLINE_FLEET_DETAIL = 'no mqtt section: an offline device has no fleet to reach';

/** The fleet probe for `config`; `fail` makes it fail (the simulator's `--fail-health`). */
export function fleetProbeFor(config: AgentConfig, fail: boolean): FleetProbe {
  const mqtt = config.mqtt;
  if (fail) {
    return { roundTrip: () => Promise.reject(new OtaError('HEALTH_SIMULATED_FAILURE', 'the fleet round-trip was made to fail (sim boot --fail-health)')) };
  }
  if (mqtt === undefined) return { roundTrip: () => Promise.resolve(), passDetail: OFFLINE_FLEET_DETAIL };
  return {
    async roundTrip(signal: AbortSignal): Promise<void> {
      const transport = new Transport(mqtt);
      transport.on('warning', () => undefined);
      transport.start();
      try {
        await retryingProbe(transport).roundTrip(signal);
      } finally {
        await transport.stop();
      }
    },
  };
}

/** Each round-trip attempt may take this long before it is tried again (a lost ping). */
export const ROUND_TRIP_ATTEMPT_MS = 5_000;

/** `probe` retried: an attempt that fails or takes longer than `attemptMs` is repeated until `signal` fires. */
export function retryingProbe(probe: FleetProbe, attemptMs = ROUND_TRIP_ATTEMPT_MS): FleetProbe {
  return {
    async roundTrip(signal: AbortSignal): Promise<void> {
      for (;;) {
        const attempt = new AbortController();
        const onAbort = (): void => attempt.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        const timer = setTimeout(() => attempt.abort(), attemptMs);
        try {
          await probe.roundTrip(attempt.signal);
          return;
        } catch (err) {
          if (signal.aborted) throw err;
          await sleep(monotonicClock, 100, signal);
        } finally {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        }
      }
    },
  };
}
