/**
 * The inventory a status document carries, as the fleet reads it: optional, lenient (a member of the
 * wrong shape is left out), bounded (64 pairs, 256 characters a value), and flattened for the registry.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { documentOf, parseStatus } from '../../../fleet/src/status/index.js';

const base = { schema: 'ota-status/1', deviceId: 'd', seq: 3, updatedAt: '2026-01-01T00:00:00Z', version: '2', phase: 'idle', progress: null, lastError: null, booted: 'A', bootId: 'b' };
const parse = (more: Record<string, unknown>) => parseStatus('d', Buffer.from(JSON.stringify({ ...base, ...more })));

test('slots, agent version, kernel, network and attributes are read', () => {
  const r = parse({ slots: { A: 'good', B: 'trial' }, agentVersion: '0.1.0', kernel: '6.1.0-arm64', network: { eth0: '10.0.0.7' }, attributes: { site: 'north' }, hardware: 'hw' });
  assert.equal(r.inventory, { slots: { A: 'good', B: 'trial' }, agentVersion: '0.1.0', kernel: '6.1.0-arm64', network: { eth0: '10.0.0.7' }, attributes: { site: 'north' } });
  const d = documentOf(r, 42);
  assert.equal([d.hardware, d.version, d.booted, d.bootId, d.seq, d.receivedMs, d.attributes], ['hw', 2, 'A', 'b', 3, 42, { site: 'north' }]);
});

test('an older agent sends none of it; a wrong shape is left out, not refused', () => {
  assert.equal(parse({}).inventory, { slots: {}, attributes: {} });
  assert.equal(parse({ slots: 'A', kernel: 7, agentVersion: 'x\ny', attributes: { 'bad key': 'v', ok: 1, fine: 'yes' } }).inventory, { slots: {}, attributes: { fine: 'yes' } });
});

test('attributes are bounded: 64 pairs, 256 characters a value', () => {
  const many = Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`k${String(k).padStart(3, '0')}`, 'v'.repeat(1000)]));
  const attrs = parse({ attributes: many }).inventory?.attributes ?? {};
  assert.is(Object.keys(attrs).length, 64);
  assert.is(attrs['k000']?.length, 256);
  assert.is(attrs['k064'], undefined);
});

test.run();
