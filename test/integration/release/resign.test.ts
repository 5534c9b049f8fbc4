// Time never strands a fleet: `ota-fleet resign` signs the rollout again once half its life is
// gone (the next rollout version), the release too when its keys are here, and says so when they
// are not. Every step runs on an injected clock; the device's verify decides at a pinned time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { patchImage, writeImage } from '../../support/sim-flow.js';
import { runMain, tempDir, type CliRun } from '../../support/tools.js';

const T0 = Date.parse('2027-01-01T00:00:00Z');
const DAY = 86_400_000;
const at = (days: number): Date => new Date(T0 + days * DAY);

async function fleet(dir: string, days: number, ...argv: string[]): Promise<CliRun> {
  return runMain(fleetMain, argv, { cwd: dir, now: at(days) });
}

/** The device's decision on rel2's notice at day `days` (rollout versions up to `seen` already accepted). */
async function verifyAt(dir: string, days: number): Promise<CliRun> {
  return runMain(agentMain, ['verify', 'rel2', '--root', 'keys/root.json', '--hardware', 'hw', '--installed-version', '1', '--now', at(days).toISOString()], { cwd: dir });
}

function resignedJson(r: CliRun): { release: Record<string, unknown>; rollout: Record<string, unknown> } {
  const parsed: unknown = JSON.parse(r.stdout);
  const first: unknown = Reflect.get(Object(parsed), 'releases');
  const one: unknown = Array.isArray(first) ? first[0] : undefined;
  return { release: Object(Reflect.get(Object(one), 'release')), rollout: Object(Reflect.get(Object(one), 'rollout')) };
}

test('resign: nothing before half-life; the rollout after 3.5 days; the release after 15; a device on day 20 accepts', async () => {
  const t = tempDir();
  try {
    assert.is((await fleet(t.dir, 0, 'keygen', '--out', 'keys')).code, 0);
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 100, 'two');
    const rel = await fleet(t.dir, 0, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2');
    assert.is(rel.code, 0, rel.stderr);
    assert.match((await verifyAt(t.dir, 8)).stderr, /\[expired\]/, 'without re-signing, the rollout is dead on day 8');

    const early = await fleet(t.dir, 3, 'resign', '--keys', 'keys', '--release', 'rel2', '--json');
    assert.is(early.code, 0, early.stderr);
    assert.equal(resignedJson(early), {
      release: { version: 2, resigned: false, expires: '2027-01-31T00:00:00Z' },
      rollout: { version: 1, resigned: false, expires: '2027-01-08T00:00:00Z' },
    });

    const notice = readFileSync(join(t.dir, 'rel2/notice.json'));
    const day4 = await fleet(t.dir, 4, 'resign', '--keys', 'keys', '--release', 'rel2');
    assert.is(day4.code, 0, day4.stderr);
    assert.is(day4.stdout, 'rel2: release 2: not due, expires 2027-01-31T00:00:00Z; rollout 2: re-signed, expires 2027-01-12T00:00:00Z\n');
    assert.not.equal(readFileSync(join(t.dir, 'rel2/notice.json')), notice, 'a new notice');
    const day8 = await verifyAt(t.dir, 8);
    assert.is(day8.code, 0, day8.stderr);
    assert.match(day8.stdout, /^accepted: release 2 for hw \(rollout 2,/);

    const day16 = resignedJson(await fleet(t.dir, 16, 'resign', '--keys', 'keys', '--release', 'rel2', '--json'));
    assert.equal(day16, {
      release: { version: 2, resigned: true, expires: '2027-02-16T00:00:00Z' },
      rollout: { version: 3, resigned: true, expires: '2027-01-24T00:00:00Z' },
    });
    const day20 = await verifyAt(t.dir, 20);
    assert.is(day20.code, 0, day20.stderr);
    assert.match(day20.stdout, /^accepted: release 2 for hw \(rollout 3,/);
  } finally { t.cleanup(); }
});

test('resign with the release key offline re-signs the rollout and fails naming the release that will expire', async () => {
  const t = tempDir();
  try {
    await fleet(t.dir, 0, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v2.img', 1024 * 1024);
    assert.is((await fleet(t.dir, 0, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2')).code, 0);
    const root: unknown = JSON.parse(readFileSync(join(t.dir, 'keys/root.json'), 'utf8'));
    const ids: unknown = Reflect.get(Object(Reflect.get(Object(Reflect.get(Object(Reflect.get(Object(root), 'signed')), 'roles')), 'release')), 'keyids');
    assert.ok(Array.isArray(ids) && typeof ids[0] === 'string');
    renameSync(join(t.dir, 'keys/private', `${String(ids[0])}.json`), join(t.dir, 'release-key.json'));
    const r = await fleet(t.dir, 16, 'resign', '--keys', 'keys', '--release', 'rel2');
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /release 2: DUE, not re-signed, expires 2027-01-31T00:00:00Z; rollout 2: re-signed, expires 2027-01-24T00:00:00Z/, r.stdout);
    assert.match(r.stderr, /release 2 expires 2027-01-31T00:00:00Z and its keys are not in .*keys: run ota-fleet resign where the release keys are \[RESIGN_KEY_OFFLINE\]/);
  } finally { t.cleanup(); }
});

test('a device offline for a year (its root expired) takes a fresh rollout whose notice carries the rotated root', async () => {
  const t = tempDir();
  try {
    await fleet(t.dir, 0, 'keygen', '--out', 'keys');
    copyFileSync(join(t.dir, 'keys/root.json'), join(t.dir, 'device-root.json')); // what the device trusts, from day 0
    writeImage(t.dir, 'v2.img', 1024 * 1024);
    assert.is((await fleet(t.dir, 300, 'root', 'rotate', '--keys', 'keys')).code, 0, 'the yearly root rotation, before v1 expires');
    const rel = await fleet(t.dir, 400, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel2', '--device', 'dev-7');
    assert.is(rel.code, 0, rel.stderr);
    const r = await runMain(agentMain, ['verify', 'rel2', '--root', 'device-root.json', '--hardware', 'hw', '--device-id', 'dev-7', '--installed-version', '1', '--now', at(401).toISOString()], { cwd: t.dir });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^accepted: release 2 for hw \(rollout 1, root v2\)/);
  } finally { t.cleanup(); }
});

test.run();
