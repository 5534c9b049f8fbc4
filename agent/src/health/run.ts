/**
 * Run the health check: every declared check plus the built-in required `fleet`
 * round-trip, all at once, under one deadline. A check still running at the
 * deadline has failed (a hung check never blocks the verdict). Healthy means
 * every required check passed; wanted checks are reported only.
 */
import { describe } from '../errors/index.js';
import { monotonicClock, type Clock } from '../time/index.js';
import { FLEET_CHECK } from './config.js';
import type { HealthCheck, HealthConfig, Level } from './config.js';
import { probeCommand, probeFile, probeHttp, probeUnit } from './probes.js';
import type { CommandRunner, FleetProbe } from './probes.js';

/** The outcome of one check. */
export interface CheckOutcome {
  readonly name: string;
  readonly level: Level;
  readonly ok: boolean;
  /** What passed (`HTTP 200`) or why it failed. */
  readonly detail: string;
}

/** The verdict and every check's outcome, in declaration order (fleet last). */
export interface HealthResult {
  readonly healthy: boolean;
  readonly checks: readonly CheckOutcome[];
}

/** Injected timers: the one clock's `schedule`. */
export type HealthTimers = Pick<Clock, 'schedule'>;

/** What the checks run on. */
export interface HealthDeps {
  readonly run: CommandRunner;
  readonly fleet: FleetProbe;
  /** The systemctl binary; default `systemctl`. */
  readonly systemctl?: string;
  readonly timers?: HealthTimers;
}

/** Run all checks under `config.deadlineMs` (or until `signal` fires). */
export async function runHealth(config: HealthConfig, deps: HealthDeps, signal?: AbortSignal): Promise<HealthResult> {
  const controller = new AbortController();
  const onOuter = (): void => controller.abort();
  signal?.addEventListener('abort', onOuter, { once: true });
  if (signal?.aborted === true) controller.abort();
  const cancel = (deps.timers ?? monotonicClock).schedule(() => controller.abort(), config.deadlineMs);
  const expired = new Promise<string>((resolve) => {
    if (controller.signal.aborted) resolve('aborted');
    controller.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    const all: { name: string; level: Level; probe: (s: AbortSignal) => Promise<string> }[] = [
      ...config.checks.map((c) => ({ name: c.name, level: c.level, probe: (s: AbortSignal) => probe(c, deps, s) })),
      { name: FLEET_CHECK, level: 'required', probe: async (s) => { await deps.fleet.roundTrip(s); return deps.fleet.passDetail ?? 'MQTT round-trip'; } },
    ];
    const checks = await Promise.all(all.map(async ({ name, level, probe: p }): Promise<CheckOutcome> => {
      const verdict = await Promise.race([
        p(controller.signal).then((detail) => ({ ok: true, detail }), (err: unknown) => ({ ok: false, detail: describe(err) })),
        expired.then(() => ({ ok: false, detail: `no answer within the health deadline of ${config.deadlineMs} ms` })),
      ]);
      return { name, level, ...verdict };
    }));
    return { healthy: checks.every((c) => c.ok || c.level === 'wanted'), checks };
  } finally {
    cancel();
    signal?.removeEventListener('abort', onOuter);
    controller.abort(); // stop probes still running (a hung command is killed)
  }
}

function probe(check: HealthCheck, deps: HealthDeps, signal: AbortSignal): Promise<string> {
  switch (check.kind) {
    case 'systemd': return probeUnit(deps.run, deps.systemctl ?? 'systemctl', check.unit, signal);
    case 'command': return probeCommand(deps.run, check.argv, signal);
    case 'http': return probeHttp(check.url, check.expectStatus, signal);
    case 'file': return probeFile(check.path);
  }
}
