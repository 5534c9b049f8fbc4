/** A refused notice: what the device reports, what the fleet reads back and shows. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Refusal, readRefusedNotice } from '../../../agent/src/formats/index.js';
import { statusDocument } from '../../../agent/src/transport/index.js';
import { describeRefusedNotice } from '../../../agent/src/trust/index.js';
import { deviceRows, formatTable, parseStatus } from '../../../fleet/src/status/index.js';
import { goodNotice } from '../../support/trust.js';

const at = new Date('2030-01-02T03:04:05Z');

test('the device names the reason and, when readable, the release and rollout the notice named', () => {
  assert.equal(describeRefusedNotice(goodNotice(3, 7), new Refusal('rollback', 'older'), at), { reason: 'rollback', release: 3, rollout: 7, at: '2030-01-02T03:04:05.000Z' });
  assert.equal(describeRefusedNotice(Buffer.from('garbage'), new Refusal('malformed', 'x'), at), { reason: 'malformed', release: null, rollout: null, at: '2030-01-02T03:04:05.000Z' });
  assert.is(describeRefusedNotice(goodNotice(3), new Error('boom'), at).reason, 'error');
});

test('the fleet reads it back and shows it in the table; garbage or oversized fields are ignored', () => {
  const refusedNotice = describeRefusedNotice(goodNotice(3, 7), new Refusal('wrong-device', 'no'), at);
  const doc = statusDocument({
    version: '2', hardware: 'hw', slots: { A: 'good', B: 'good' }, booted: 'A', phase: 'idle', progress: null, lastError: null, lastUpdate: null, bootId: 'b', refusedNotice,
  }, 'dev-1', 4, at);
  const report = parseStatus('dev-1', Buffer.from(JSON.stringify(doc)));
  assert.equal(report.refusedNotice, refusedNotice);
  const line = formatTable(deviceRows(new Map([['dev-1', report]]), new Map(), new Map())).split('\n')[1] ?? '';
  assert.match(line, /refused notice \(release 3, rollout 7\) at 2030-01-02T03:04:05.000Z: \[wrong-device\]$/);
  for (const bad of [null, 'x', { ...refusedNotice, reason: 'a b' }, { ...refusedNotice, reason: 'x'.repeat(41) }, { ...refusedNotice, release: -1 }, { ...refusedNotice, at: 'y'.repeat(41) }]) {
    assert.is(readRefusedNotice(bad), undefined, JSON.stringify(bad));
    assert.not.ok('refusedNotice' in parseStatus('dev-1', Buffer.from(JSON.stringify({ ...doc, refusedNotice: bad }))));
  }
});

test.run();
