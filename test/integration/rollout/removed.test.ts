/**
 * A removed (decommissioned) device leaves rollout arithmetic: a device that would fail every update, and
 * would halt the rollout in its first stage, is removed from the registry; the rollout plans, tallies and
 * completes without it, and its history names no outcome of it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { loadState } from '../../../fleet/src/rollout/index.js';
import { REGISTRY_FILE, openRegistry } from '../../../fleet/src/registry/index.js';
import { deviceSpecs, fleetOk, makeRig, openBroker, serveRelease, startDevices } from '../../support/fleet-rig.js';
import { untilAsync } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

const fast = ['--tick-ms', '100', '--settle-ms', '300'];

test('a removed device that fails every update neither halts nor counts in a rollout', async () => {
  const rig = await makeRig();
  const broker = await openBroker('aedes');
  const server = await serveRelease(rig);
  const devices = await startDevices(rig, broker, deviceSpecs(6, (id) => id === 'dev-02'));
  const stop = new AbortController();
  const serving = fleet(['serve', '--broker', broker.url, '--port', '0', '--artifacts', '.'], {
    stdout: { write: () => true }, stderr: { write: () => true }, env: process.env, cwd: rig.dir, now: () => new Date(), signal: stop.signal,
  });
  try {
    await untilAsync(async () => {
      const reg = await openRegistry(join(rig.dir, REGISTRY_FILE), rig.dir, 0);
      try { return (await reg.devices()).length === 6; } finally { await reg.close(); }
    }, 15_000, 'the registry holds the six devices');
    await fleetOk(rig.dir, ['device', 'remove', 'dev-02']);
    const r = await runMain(fleet, ['rollout', 'start', 'R', '--stages', '100', '--success-threshold', '100', '--failure-threshold', '0',
      '--broker', broker.url, '--keys', 'KEYS', '--artifacts-url', server.url, '--id', 'without-02', ...fast], { cwd: rig.dir });
    assert.is(r.code, 0, r.stderr + r.stdout);
    const s = await loadState(join(rig.dir, 'ota-rollout.json'));
    assert.is(s.rollout.status, 'completed');
    assert.equal([s.tally.inStage, s.tally.committed, s.tally.failed], [5, 5, 0], 'five devices in the stage: the removed one is not counted');
    assert.is(s.tracking['dev-02'], undefined, 'nor tracked');
    const h: unknown = JSON.parse(await fleetOk(rig.dir, ['rollout', 'history', 'without-02', '--json']));
    const outcomes = typeof h === 'object' && h !== null && 'outcomes' in h && Array.isArray(h.outcomes) ? h.outcomes : [];
    assert.is(outcomes.length, 5);
    assert.not.ok(JSON.stringify(outcomes).includes('dev-02'));
  } finally {
    stop.abort();
    await serving;
    await devices.stop();
    await server.close();
    await broker.close();
    rig.cleanup();
  }
});

test.run();
