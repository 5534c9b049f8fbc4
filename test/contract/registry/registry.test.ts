/**
 * One registry suite, run against both stores: SQLite (a file in a temp dir) and PostgreSQL (a real
 * server from Debian's postgresql, started here on 127.0.0.1; skipped by name where it is missing).
 * Each test opens a fresh store through `openRegistry`, as `ota-fleet` does.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS, REGISTRY_FILE, openRegistry, type DeviceDocument, type Registry } from '../../../fleet/src/registry/index.js';
import { gateIn } from '../../support/skip.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../support/postgres.js';
import { tempDir } from '../../support/tools.js';
import { rejectsCode } from '../../support/errors.js';

/** A status document of `id` (boot `boot`, sequence `seq`) with `more` on top. */
function doc(id: string, boot: string, seq: number, more: Partial<DeviceDocument> = {}): DeviceDocument {
  return {
    deviceId: id, hardware: 'board-a', version: 1, name: null, phase: 'idle', booted: 'A', slots: { A: 'good', B: 'good' },
    agentVersion: '0.1.0', kernel: '6.1.0', network: null, attributes: {}, lastError: null, lastOutcome: null, lastOutcomeVersion: null,
    bootId: boot, seq, reportedAt: '2026-01-01T00:00:00.000Z', receivedMs: 1_000 + seq, ...more,
  };
}

interface Opened { reg: Registry; done(): Promise<void>; again(): Promise<Registry>; exec(sql: string): Promise<void> }
interface Store { name: string; open(): Promise<Opened>; before?(): Promise<void>; after?(): Promise<void>; skip?: string | undefined }

let server: PostgresServer | undefined;
let dbs = 0;
const stores: Store[] = [
  {
    name: 'sqlite',
    open: async () => {
      const t = tempDir('ota-reg-');
      const reg = await openRegistry(undefined, t.dir, 1);
      const exec = async (sql: string): Promise<void> => { const db = new Database(join(t.dir, REGISTRY_FILE)); try { db.exec(sql); } finally { db.close(); } };
      return { reg, done: async () => { await reg.close(); t.cleanup(); }, again: () => openRegistry(undefined, t.dir, 1), exec };
    },
  },
  {
    name: 'postgres', skip: postgresMissing(),
    before: async () => { server = await startPostgres(); },
    after: async () => { await server?.stop(); },
    open: async () => {
      if (server === undefined) throw new Error('postgres not started');
      const url = await server.createDatabase(`reg${++dbs}`);
      const reg = await openRegistry(url, '/nonexistent', 1);
      const exec = async (sql: string): Promise<void> => { const c = new pg.Client({ connectionString: url }); await c.connect(); try { await c.query(sql); } finally { await c.end(); } };
      return { reg, done: () => reg.close(), again: () => openRegistry(url, '/nonexistent', 1), exec };
    },
  },
];

for (const store of stores) {
  const s = suite(store.name);
  if (store.before !== undefined && store.skip === undefined) s.before(store.before);
  if (store.after !== undefined && store.skip === undefined) s.after(store.after);
  const it = gateIn(s, store.skip, store.name);
  const withReg = (fn: (reg: Registry, again: () => Promise<Registry>, exec: (sql: string) => Promise<void>) => Promise<void>) => async () => {
    const { reg, done, again, exec } = await store.open();
    try { await fn(reg, again, exec); } finally { await done(); }
  };

  it('a store of a newer schema is refused, untouched (REGISTRY_TOO_NEW)', withReg(async (reg, again, exec) => {
    await reg.ingest(doc('kept', 'b', 1));
    await exec(`INSERT INTO schema_migrations (version, applied_ms) VALUES (${MIGRATIONS.length + 1}, 0)`);
    await rejectsCode(again, 'REGISTRY_TOO_NEW', new RegExp(`schema is version ${MIGRATIONS.length + 1}, this ota-fleet knows up to ${MIGRATIONS.length}`));
    assert.is((await reg.device('kept'))?.seq, 1);
  }));

  it('a fresh store is migrated to the newest schema', withReg(async (reg) => {
    assert.is(await reg.schemaVersion(), MIGRATIONS.length);
    assert.equal(await reg.devices(), []);
  }));

  it('ingest is idempotent and ignores stale documents (boot id + sequence)', withReg(async (reg) => {
    assert.is(await reg.ingest(doc('d1', 'b1', 5)), 'added');
    assert.is(await reg.ingest(doc('d1', 'b1', 5, { phase: 'installing' })), 'duplicate', 'the same boot and sequence again changes nothing');
    assert.is((await reg.device('d1'))?.phase, 'idle');
    assert.is(await reg.ingest(doc('d1', 'b1', 4, { version: 0 })), 'stale');
    assert.is(await reg.ingest(doc('d1', 'b1', 7, { version: 2 })), 'updated');
    assert.is(await reg.ingest(doc('d1', 'b2', 1, { version: 3 })), 'updated', 'a new boot starts its sequence again');
    assert.is(await reg.ingest(doc('d1', 'b1', 9, { version: 1 })), 'stale', 'a document of a boot the device left is stale, whatever its sequence');
    const d = await reg.device('d1');
    assert.is(d?.version, 3);
    assert.is(d?.bootId, 'b2');
    assert.is(d?.seq, 1);
    assert.is(d?.firstSeenMs, 1_005);
    assert.is(d?.lastSeenMs, 1_001);
    assert.equal(await reg.ingestMany([doc('m', 'b', 2), doc('m', 'b', 1), doc('m', 'b', 2), doc('m', 'c', 1)]), ['added', 'stale', 'duplicate', 'updated'], 'a batch, in order, in one transaction');
    assert.equal(await reg.ingestMany([]), []);
  }));

  it('inventory fields come back as ingested', withReg(async (reg) => {
    const full = doc('d2', 'b', 1, {
      name: 'spring-fix', version: 7, slots: { A: 'good', B: 'bad' }, booted: 'B', network: { eth0: '10.0.0.2' }, attributes: { site: 'north', 'rack.row': '3' },
      lastError: 'required health check failed on slot B', lastOutcome: 'reverted', lastOutcomeVersion: 8, kernel: '6.6.7-arm64', agentVersion: '0.2.0',
    });
    await reg.ingest(full);
    const { receivedMs, ...rest } = full;
    assert.equal(await reg.device('d2'), { ...rest, firstSeenMs: receivedMs, lastSeenMs: receivedMs, removedAtMs: null });
  }));

  it('device filters: version, hardware, attributes (built-in fields too)', withReg(async (reg) => {
    await reg.ingest(doc('a', 'x', 1, { version: 1, attributes: { site: 'north' } }));
    await reg.ingest(doc('b', 'x', 1, { version: 2, attributes: { site: 'north' } }));
    await reg.ingest(doc('c', 'x', 1, { version: 2, hardware: 'board-b', attributes: { site: 'south' } }));
    const ids = async (f: Parameters<Registry['devices']>[0]): Promise<string[]> => (await reg.devices(f)).map((d) => d.deviceId);
    assert.equal(await ids({ version: 2 }), ['b', 'c']);
    assert.equal(await ids({ hardware: 'board-b' }), ['c']);
    assert.equal(await ids({ attributes: [{ key: 'site', value: 'north' }] }), ['a', 'b']);
    assert.equal(await ids({ attributes: [{ key: 'site', value: 'north' }, { key: 'version', value: '2' }] }), ['b']);
    assert.equal(await ids({ attributes: [{ key: 'hardware', value: 'board-a' }] }), ['a', 'b']);
  }));

  it('a removed device leaves lists and groups, ignores its documents until restored', withReg(async (reg) => {
    await reg.ingest(doc('a', 'x', 1));
    await reg.ingest(doc('b', 'x', 1));
    await reg.putGroup('all-a', { kind: 'dynamic', match: [{ key: 'hardware', value: 'board-a' }] }, 5);
    assert.ok(await reg.removeDevice('a', 10));
    assert.equal(await reg.removedDevices(), ['a']);
    assert.not.ok(await reg.removeDevice('nobody', 10));
    assert.equal((await reg.devices()).map((d) => d.deviceId), ['b']);
    assert.equal((await reg.devices({ includeRemoved: true })).map((d) => [d.deviceId, d.removedAtMs]), [['a', 10], ['b', null]]);
    assert.equal(await reg.groupMembers('all-a'), ['b']);
    assert.is(await reg.ingest(doc('a', 'x', 2, { version: 9 })), 'removed');
    assert.is((await reg.device('a'))?.version, 1);
    assert.ok(await reg.restoreDevice('a'));
    assert.is(await reg.ingest(doc('a', 'x', 3, { version: 9 })), 'updated');
  }));

  it('groups: static and dynamic, replaced, listed, removed; an unknown group is GROUP_UNKNOWN', withReg(async (reg) => {
    for (const [id, site] of [['n1', 'north'], ['n2', 'north'], ['s1', 'south']] as const) await reg.ingest(doc(id, 'x', 1, { attributes: { site } }));
    await reg.putGroup('north', { kind: 'dynamic', match: [{ key: 'site', value: 'north' }] }, 1);
    await reg.putGroup('picked', { kind: 'static', devices: ['s1', 'n1', 'n1', 'gone'] }, 2);
    assert.equal(await reg.groupMembers('north'), ['n1', 'n2']);
    assert.equal(await reg.groupMembers('picked'), ['n1', 's1'], 'members are devices the registry holds');
    assert.equal((await reg.group('picked'))?.definition, { kind: 'static', devices: ['gone', 'n1', 's1'] });
    assert.equal((await reg.groups()).map((g) => g.name), ['north', 'picked']);
    assert.equal((await reg.devices({ group: 'north', attributes: [{ key: 'deviceless', value: 'x' }] })).length, 0);
    assert.equal((await reg.devices({ group: 'north' })).map((d) => d.deviceId), ['n1', 'n2']);
    await reg.ingest(doc('s1', 'x', 2, { attributes: { site: 'north' } }));
    assert.equal(await reg.groupMembers('north'), ['n1', 'n2', 's1'], 'a dynamic group follows the inventory');
    await reg.putGroup('picked', { kind: 'static', devices: ['n2'] }, 3);
    assert.equal(await reg.groupMembers('picked'), ['n2']);
    assert.ok(await reg.removeGroup('picked'));
    assert.not.ok(await reg.removeGroup('picked'));
    await rejectsCode(() => reg.groupMembers('picked'), 'GROUP_UNKNOWN', /no such group/);
    await rejectsCode(() => reg.putGroup('bad name', { kind: 'static', devices: [] }, 1), 'USAGE', /group name/);
  }));

  it('rollout history: record, events in order, latest outcome per device (idempotent)', withReg(async (reg) => {
    const r = { rolloutId: 'r1', releaseVersion: 2, hardware: ['board-a'], group: 'north', canaries: ['n1'], stagesPercent: [50, 100], status: 'running', reason: null, startedMs: 100, updatedMs: 100 };
    await reg.putRollout(r);
    await reg.putRollout({ ...r, status: 'halted', reason: 'stage 1: 1 of 1 devices failed', updatedMs: 300 });
    await reg.addRolloutEvent({ rolloutId: 'r1', atMs: 100, kind: 'start', stageIndex: 0, detail: 'canaries n1' });
    await reg.addRolloutEvent({ rolloutId: 'r1', atMs: 300, kind: 'halt', stageIndex: 0, detail: 'n1 [HEALTH] failed' });
    await reg.putRolloutOutcome({ rolloutId: 'r1', deviceId: 'n1', stageIndex: 0, outcome: 'installing', reason: null, atMs: 150 });
    await reg.putRolloutOutcome({ rolloutId: 'r1', deviceId: 'n1', stageIndex: 0, outcome: 'failed', reason: '[HEALTH] failed', atMs: 250 });
    await reg.putRolloutOutcome({ rolloutId: 'r1', deviceId: 'n1', stageIndex: 0, outcome: 'failed', reason: '[HEALTH] failed', atMs: 290 });
    const h = await reg.rolloutHistory('r1');
    assert.equal(h?.rollout, { ...r, status: 'halted', reason: 'stage 1: 1 of 1 devices failed', updatedMs: 300 });
    assert.equal(h?.events.map((e) => [e.kind, e.atMs, e.detail]), [['start', 100, 'canaries n1'], ['halt', 300, 'n1 [HEALTH] failed']]);
    assert.equal(h?.outcomes, [{ rolloutId: 'r1', deviceId: 'n1', stageIndex: 0, outcome: 'failed', reason: '[HEALTH] failed', atMs: 250 }], 'the same outcome again keeps its first time');
    assert.equal((await reg.rollouts()).map((x) => x.rolloutId), ['r1']);
    assert.is(await reg.rolloutHistory('nope'), undefined);
  }));

  it('two connections of one process write at once (a controller and a server side by side)', withReg(async (reg, again) => {
    const other = await again();
    try {
      await reg.ingest(doc('r0', 'b', 1));
      const writes: Promise<unknown>[] = [];
      for (let k = 1; k <= 40; k++) {
        writes.push(reg.ingest(doc(`p${k % 4}`, 'b', k)));
        writes.push(other.ingest(doc(`q${k % 4}`, 'b', k)));
        if (k % 10 === 0) writes.push(other.removeDevice('r0', k), other.restoreDevice('r0'), reg.devices());
      }
      await Promise.all(writes);
      assert.equal((await reg.devices()).map((d) => [d.deviceId, d.seq]), [['p0', 40], ['p1', 37], ['p2', 38], ['p3', 39], ['q0', 40], ['q1', 37], ['q2', 38], ['q3', 39], ['r0', 1]]);
    } finally {
      await other.close();
    }
  }));

  it('opening an existing store again migrates nothing and keeps its data', async () => {
    if (store.name === 'postgres') {
      if (server === undefined) throw new Error('postgres not started');
      const url = await server.createDatabase(`reopen${++dbs}`);
      const a = await openRegistry(url, '/nonexistent', 1);
      await a.ingest(doc('kept', 'b', 1));
      await a.close();
      const b = await openRegistry(url, '/nonexistent', 2);
      try { assert.is((await b.device('kept'))?.seq, 1); } finally { await b.close(); }
      return;
    }
    const t = tempDir('ota-reg-');
    try {
      const a = await openRegistry(join(t.dir, 'r.sqlite'), t.dir, 1);
      await a.ingest(doc('kept', 'b', 1));
      await a.close();
      const b = await openRegistry(join(t.dir, 'r.sqlite'), t.dir, 2);
      try { assert.is((await b.device('kept'))?.seq, 1); assert.is(await b.schemaVersion(), MIGRATIONS.length); } finally { await b.close(); }
    } finally { t.cleanup(); }
  });

  s.run();
}
