/** Health checks with real commands, real files and a real HTTP server on 127.0.0.1. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseHealthConfig, runHealth, spawnCommand } from '../../../agent/src/health/index.js';
import type { CommandRunner, FleetProbe, HealthResult } from '../../../agent/src/health/index.js';
import { until } from '../../support/sim-fleet.js';
import { tempDir } from '../../support/tools.js';

const t = tempDir('ota-health-');
let hangs = 0;
const server = createServer((req, res) => {
  if (req.url === '/hang') { hangs += 1; return; } // never answers: the deadline must end it
  res.statusCode = req.url === '/ok' ? 200 : 503;
  res.end('x');
});
let base = '';
// A stand-in for systemctl: `is-active --quiet good.service` is active, anything else is not.
const systemctl = join(t.dir, 'systemctl');

const fleetUp: FleetProbe = { roundTrip: async () => undefined };
const fleetHung: FleetProbe = { roundTrip: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) };

test.before(async () => {
  writeFileSync(systemctl, '#!/bin/sh\n[ "$1" = is-active ] && [ "$2" = --quiet ] && [ "$3" = good.service ]\n');
  chmodSync(systemctl, 0o755);
  writeFileSync(join(t.dir, 'present'), '');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(() => {
  server.closeAllConnections();
  server.close();
  t.cleanup();
});

function byName(r: HealthResult): Record<string, boolean> {
  return Object.fromEntries(r.checks.map((c) => [c.name, c.ok]));
}

test('every kind passes and fails for real', async () => {
  const config = parseHealthConfig({ deadlineMs: 10_000, checks: [
    { name: 'unit-good', kind: 'systemd', unit: 'good.service' },
    { name: 'unit-bad', kind: 'systemd', unit: 'bad.service', level: 'wanted' },
    { name: 'true', kind: 'command', argv: ['true'] },
    { name: 'false', kind: 'command', argv: ['sh', '-c', 'echo broken >&2; exit 3'], level: 'wanted' },
    { name: 'http-ok', kind: 'http', url: `${base}/ok` },
    { name: 'http-503', kind: 'http', url: `${base}/down`, level: 'wanted' },
    { name: 'http-503-expected', kind: 'http', url: `${base}/down`, expectStatus: 503 },
    { name: 'file-yes', kind: 'file', path: join(t.dir, 'present') },
    { name: 'file-no', kind: 'file', path: join(t.dir, 'absent'), level: 'wanted' },
  ] });
  const r = await runHealth(config, { run: spawnCommand, fleet: fleetUp, systemctl });
  assert.equal(byName(r), { 'unit-good': true, 'unit-bad': false, true: true, false: false, 'http-ok': true,
    'http-503': false, 'http-503-expected': true, 'file-yes': true, 'file-no': false, fleet: true });
  assert.ok(r.healthy, 'only wanted checks failed');
  assert.match(r.checks.find((c) => c.name === 'false')?.detail ?? '', 'exit 3: broken');
});

test('a failed required check makes the device unhealthy', async () => {
  const config = parseHealthConfig({ deadlineMs: 10_000, checks: [{ name: 'gone', kind: 'file', path: join(t.dir, 'absent') }] });
  const r = await runHealth(config, { run: spawnCommand, fleet: fleetUp, systemctl });
  assert.is(r.healthy, false);
});

test('hung checks (command, HTTP, fleet) fail at the deadline and the rest still report', async () => {
  const config = parseHealthConfig({ deadlineMs: 700, checks: [
    { name: 'sleeper', kind: 'command', argv: ['sleep', '60'], level: 'wanted' },
    { name: 'http-hang', kind: 'http', url: `${base}/hang`, level: 'wanted' },
    { name: 'quick', kind: 'command', argv: ['true'] },
  ] });
  // The deadline fires when the test says: once the quick check has finished and the hung request reached the
  // server, however long a loaded machine took to get there (a real 700 ms could end the quick check too).
  let deadline: (() => void) | undefined;
  const timers = { schedule: (fn: () => void, delayMs: number) => { assert.is(delayMs, 700); deadline = fn; return () => { deadline = undefined; }; } };
  let quickDone = false;
  const run: CommandRunner = async (argv, signal) => {
    const result = await spawnCommand(argv, signal);
    if (argv[0] === 'true') quickDone = true;
    return result;
  };
  const running = runHealth(config, { run, fleet: fleetHung, systemctl, timers });
  await until(() => quickDone && hangs > 0 && deadline !== undefined, 30_000, 'the quick check done, the hung request at the server');
  deadline?.();
  const r = await running;
  assert.equal(byName(r), { sleeper: false, 'http-hang': false, quick: true, fleet: false });
  assert.is(r.healthy, false, 'the fleet round-trip is required');
  assert.match(r.checks.find((c) => c.name === 'fleet')?.detail ?? '', 'deadline');
});

test('a missing command fails its check with the reason', async () => {
  const config = parseHealthConfig({ checks: [{ name: 'nope', kind: 'command', argv: ['/nonexistent/bin/x'] }] });
  const r = await runHealth(config, { run: spawnCommand, fleet: fleetUp });
  assert.is(r.healthy, false);
  assert.match(r.checks[0]?.detail ?? '', 'ENOENT');
});

test.run();
