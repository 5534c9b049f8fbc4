/**
 * The registry from the operator's side: `ota-fleet serve` keeps it from the devices' status documents
 * (simulated devices on a real broker), and `device list|show|remove|restore` and
 * `group add|list|show|remove` read and change it, with --json.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../../agent/src/cli/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { REGISTRY_FILE, openRegistry } from '../../../fleet/src/registry/index.js';
import { loadRoster } from '../../../fleet/src/status/index.js';
import { fleetOk, makeRig, openBroker, startDevices } from '../../support/fleet-rig.js';
import { untilAsync } from '../../support/sim-fleet.js';
import { runMain } from '../../support/tools.js';

type Json = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (v: unknown, k: string): unknown => (isObj(v) ? v[k] : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const ids = (out: string): unknown[] => list(field(JSON.parse(out), 'devices')).map((d) => field(d, 'deviceId'));

test('serve keeps the registry; device and group commands read and change it', async () => {
  const rig = await makeRig();
  const broker = await openBroker('aedes');
  const stop = new AbortController();
  let out = '';
  const ctx: CliContext = {
    stdout: { write: (t: string) => { out += t; return true; } }, stderr: { write: () => true }, env: process.env, cwd: rig.dir, now: () => new Date(), signal: stop.signal,
  };
  const serving = fleet(['serve', '--broker', broker.url, '--port', '0', '--artifacts', '.'], ctx);
  const specs = ['a', 'b', 'c'].map((x, k) => ({ deviceId: `dev-${x}`, version: 1, attributes: { site: k === 2 ? 'south' : 'north' } }));
  const devices = await startDevices(rig, broker, specs);
  try {
    const file = join(rig.dir, REGISTRY_FILE);
    await untilAsync(async () => {
      if (!existsSync(file)) return false;
      const reg = await openRegistry(file, rig.dir, 0);
      try { return (await reg.devices()).length === 3; } finally { await reg.close(); }
    }, 15_000, 'serve wrote every device into the registry');
    assert.match(out, /registry: sqlite .*ota-registry\.sqlite/);

    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--json'])), ['dev-a', 'dev-b', 'dev-c']);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--attribute', 'site=north', '--json'])), ['dev-a', 'dev-b']);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--version', '2', '--json'])), []);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--hardware', 'sim-hw', '--json'])), ['dev-a', 'dev-b', 'dev-c']);
    const table = await fleetOk(rig.dir, ['device', 'list']);
    assert.match(table, /^DEVICE\s+HARDWARE\s+VERSION\s+PHASE\s+BOOTED\s+AGENT\s+LAST SEEN\s+LAST ERROR\n/);
    assert.match(table, /\n3 devices\n$/);
    const shown: unknown = JSON.parse(await fleetOk(rig.dir, ['device', 'show', 'dev-c', '--json']));
    assert.equal([field(shown, 'hardware'), field(shown, 'version'), field(shown, 'attributes'), field(shown, 'slots')], ['sim-hw', 1, { site: 'south' }, { A: 'good', B: 'good' }]);
    assert.match(await fleetOk(rig.dir, ['device', 'show', 'dev-c']), /attributes {3}site=south/);
    const unknown = await runMain(fleet, ['device', 'show', 'nobody'], { cwd: rig.dir });
    assert.is(unknown.code, 1);
    assert.match(unknown.stderr, /DEVICE_UNKNOWN/);

    assert.match(await fleetOk(rig.dir, ['group', 'add', 'north', '--attribute', 'site=north']), /group north \(dynamic\): 2 devices in service now/);
    assert.match(await fleetOk(rig.dir, ['group', 'add', 'picked', '--device', 'dev-c,dev-a']), /group picked \(static\): 2 devices/);
    const bad = await runMain(fleet, ['group', 'add', 'both', '--device', 'dev-a', '--attribute', 'site=north'], { cwd: rig.dir });
    assert.is(bad.code, 2, bad.stderr);
    const groups: unknown = JSON.parse(await fleetOk(rig.dir, ['group', 'list', '--json']));
    assert.equal(list(field(groups, 'groups')).map((g) => [field(g, 'name'), field(g, 'members')]), [['north', ['dev-a', 'dev-b']], ['picked', ['dev-a', 'dev-c']]]);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--group', 'north', '--json'])), ['dev-a', 'dev-b']);

    // A roster beside the registry (as rollout and status keep it) loses a removed device too.
    writeFileSync(join(rig.dir, 'ota-devices.json'), JSON.stringify({ format: 'ota-roster/1', devices: { 'dev-a': { hardware: 'sim-hw', lastSeen: 'x' }, 'dev-b': { hardware: 'sim-hw', lastSeen: 'x' } } }));
    assert.match(await fleetOk(rig.dir, ['device', 'remove', 'dev-a']), /removed 1 device from service/);
    assert.equal(Object.keys(await loadRoster(join(rig.dir, 'ota-devices.json'))), ['dev-b']);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--json'])), ['dev-b', 'dev-c']);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--removed', '--json'])), ['dev-a', 'dev-b', 'dev-c']);
    assert.match(await fleetOk(rig.dir, ['group', 'show', 'north']), /^group north: dynamic: site=north .*\n {2}dev-b\n1 device in service\n$/);
    assert.match(await fleetOk(rig.dir, ['device', 'restore', 'dev-a']), /restored 1 device/);
    assert.equal(ids(await fleetOk(rig.dir, ['device', 'list', '--group', 'north', '--json'])), ['dev-a', 'dev-b']);
    assert.match(await fleetOk(rig.dir, ['group', 'remove', 'picked']), /removed group picked/);
    const gone = await runMain(fleet, ['device', 'list', '--group', 'picked'], { cwd: rig.dir });
    assert.is(gone.code, 1);
    assert.match(gone.stderr, /GROUP_UNKNOWN.*defined: north|group picked: no such group \(defined: north\)/);
  } finally {
    await devices.stop();
    stop.abort();
    assert.is(await serving, 0);
    await broker.close();
    rig.cleanup();
  }
});

test.run();
