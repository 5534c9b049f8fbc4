import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statusDocument } from '../../../agent/src/transport/index.js';
import { deviceOfTopic, deviceRows, formatTable, parseStatus, versionOf } from '../../../fleet/src/status/index.js';

const doc = (over: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({
  ...statusDocument({
    version: '7', hardware: 'hw-1', slots: { A: 'good', B: 'trial' }, booted: 'B', phase: 'installing', progress: 0.25, lastError: null,
    lastUpdate: { outcome: 'reverted', version: '6' }, bootId: 'x',
  }, 'dev-1', 3, new Date(0)),
  ...over,
}));

test('the agent\'s status document reads back field for field', () => {
  const r = parseStatus('dev-1', doc());
  assert.equal([r.deviceId, r.version, r.phase, r.progress, r.booted, r.seq, r.lastError], ['dev-1', 7, 'installing', 0.25, 'B', 3, null]);
  assert.equal([r.hardware, r.lastUpdate], ['hw-1', { outcome: 'reverted', version: 6 }]);
  const first = parseStatus('dev-1', doc({ lastUpdate: null }));
  assert.ok(!('lastUpdate' in first), 'a device that never updated reports lastUpdate null: no last update');
  assert.is(parseStatus('dev-1', doc({ version: 'unknown' })).version, null);
  assert.equal(parseStatus('dev-1', doc({ lastUpdate: { outcome: 'reverted', version: '7' }, hardware: 'hw' })).lastUpdate, { outcome: 'reverted', version: 7 });
});

test('rootExpires: read as a time; a malformed one is left out, as from an agent that does not send it', () => {
  assert.is(parseStatus('dev-1', doc({ rootExpires: '2027-12-01T00:00:00Z' })).rootExpiresMs, Date.parse('2027-12-01T00:00:00Z'));
  for (const bad of ['2027-13-01T00:00:00Z', 'soon', 7]) assert.not.ok('rootExpiresMs' in parseStatus('dev-1', doc({ rootExpires: bad })), String(bad));
  assert.not.ok('rootExpiresMs' in parseStatus('dev-1', doc()));
});

test('documents that are not status documents are refused with the device named', () => {
  for (const bad of [Buffer.from('nope'), doc({ schema: 'other' }), doc({ deviceId: 'dev-2' }), doc({ progress: 2 }), doc({ seq: -1 }), doc({ phase: 3 }), doc({ lastError: 5 })]) {
    assert.throws(() => parseStatus('dev-1', bad), /status document of device dev-1/);
  }
});

test('versions and topics', () => {
  assert.equal(['0', '12', '012', '1.5', 'unknown', '9999999999999999'].map(versionOf), [0, 12, null, null, null, null]);
  assert.is(deviceOfTopic('ota/v1/dev-1/status', 'status'), 'dev-1');
  assert.is(deviceOfTopic('ota/v1/dev-1/availability', 'availability'), 'dev-1');
  assert.is(deviceOfTopic('ota/v1/dev-1/availability', 'status'), undefined);
  assert.is(deviceOfTopic('ota/v1/rollout/hw', 'status'), undefined);
  assert.is(deviceOfTopic('other/v1/dev-1/status', 'status'), undefined);
});

test('the table: sorted rows, aligned columns, problems shown in place of the error', () => {
  const reports = new Map([['b', parseStatus('b', Buffer.from(doc({ deviceId: 'b', lastError: 'boom' })))], ['a', parseStatus('a', Buffer.from(doc({ deviceId: 'a' })))]]);
  const rows = deviceRows(reports, new Map([['a', true]]), new Map([['c', 'unreadable']]));
  assert.equal(rows.map((r) => r.deviceId), ['a', 'b', 'c']);
  const lines = formatTable(rows).trimEnd().split('\n');
  assert.equal(lines, [
    'DEVICE  VERSION  CHANNEL  PHASE       PROGRESS  BOOTED  ONLINE  LAST ERROR',
    'a       7        stable   installing  25 %      B       yes     -',
    'b       7        stable   installing  25 %      B       ?       boom',
    'c       unknown  ?        ?           -         ?       ?       unreadable',
    '3 devices',
  ]);
});

test('channels: rows grouped by channel, counted per channel, and --channel keeps one', () => {
  const reports = new Map([
    ['a', parseStatus('a', Buffer.from(doc({ deviceId: 'a', channel: 'stable' })))],
    ['b', parseStatus('b', Buffer.from(doc({ deviceId: 'b', channel: 'next' })))],
    ['c', parseStatus('c', Buffer.from(doc({ deviceId: 'c' })))],
    ['d', parseStatus('d', Buffer.from(doc({ deviceId: 'd', channel: 'Not A Channel' })))],
  ]);
  const rows = deviceRows(reports, new Map(), new Map());
  assert.equal(rows.map((r) => [r.deviceId, r.channel]), [['b', 'next'], ['a', 'stable'], ['c', 'stable'], ['d', 'stable']]);
  assert.match(formatTable(rows), /\n4 devices \(next 1, stable 3\)\n$/);
  assert.equal(deviceRows(reports, new Map(), new Map(), 'next').map((r) => r.deviceId), ['b']);
});

test('a release\'s human name reads back, shows beside the version, and a malformed one is dropped', () => {
  const named = parseStatus('dev-1', doc({ name: '2.1.0' }));
  assert.is(named.name, '2.1.0');
  const rows = deviceRows(new Map([['dev-1', named]]), new Map(), new Map());
  assert.is(rows[0]?.name, '2.1.0');
  assert.match(formatTable(rows).split('\n')[1] ?? '', /^dev-1 +7 \(2\.1\.0\) +stable +installing/);
  for (const bad of ['', ' 2', 'x'.repeat(65), 'a\nb', 5]) assert.ok(!('name' in parseStatus('dev-1', doc({ name: bad }))), JSON.stringify(bad));
  assert.is(deviceRows(new Map([['dev-1', parseStatus('dev-1', doc())]]), new Map(), new Map())[0]?.name, null);
});

test.run();
