/**
 * The fleet's board keeps each device's newest status document whatever order the broker delivers them in:
 * a subscription's retained copy can arrive after a newer live message of the same device (aedes does under
 * load; a restarted rollout controller then planned forever from a device's `installing` document).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statusDocument, topicsFor } from '../../../agent/src/transport/index.js';
import { StatusBoard, connectFleet, supersedes, parseStatus } from '../../../fleet/src/status/index.js';
import { openBroker } from '../../support/fleet-rig.js';

const doc = (phase: string, version: string, seq: number, bootId: string): Buffer => Buffer.from(JSON.stringify(statusDocument({
  version, hardware: 'hw', slots: { A: 'good', B: 'good' }, booted: 'A', phase, progress: null, lastError: null, lastUpdate: null, bootId,
}, 'dev-1', seq, new Date(0))));

test('supersedes: a lower sequence number of the same boot is older; another boot is not ordered by seq', () => {
  const held = parseStatus('dev-1', doc('idle', '2', 10, 'boot-1'));
  assert.ok(supersedes(held, parseStatus('dev-1', doc('installing', '1', 9, 'boot-1'))));
  assert.not.ok(supersedes(held, parseStatus('dev-1', doc('idle', '2', 11, 'boot-1'))));
  assert.not.ok(supersedes(held, parseStatus('dev-1', doc('idle', '2', 1, 'boot-2'))), 'a new boot restarts its sequence');
  assert.not.ok(supersedes(undefined, held));
});

test('a retained document delivered after a live one is stale; after a reconnect the retained copies count again', async () => {
  const broker = await openBroker('aedes');
  const client = await connectFleet({ url: broker.url, protocolVersion: 4, clientIdPrefix: 'board-test' });
  try {
    const board = await StatusBoard.attach(client);
    const topic = topicsFor('dev-1', 'hw').status;
    // the broker's delivery order, reproduced on the client: live (new boot, committed), then the older retained copy
    client.emit('message', topic, doc('idle', '2', 1, 'boot-2'), { cmd: 'publish', topic, payload: '', qos: 1, dup: false, retain: false });
    client.emit('message', topic, doc('installing', '1', 9, 'boot-1'), { cmd: 'publish', topic, payload: '', qos: 1, dup: false, retain: true });
    assert.equal([board.reports.get('dev-1')?.phase, board.reports.get('dev-1')?.version], ['idle', 2]);
    // the same boot, out of order live: the higher sequence number wins
    client.emit('message', topic, doc('idle', '2', 3, 'boot-2'), { cmd: 'publish', topic, payload: '', qos: 1, dup: false, retain: false });
    client.emit('message', topic, doc('rebooting', '2', 2, 'boot-2'), { cmd: 'publish', topic, payload: '', qos: 1, dup: false, retain: false });
    assert.is(board.reports.get('dev-1')?.seq, 3);
    // after a (re)connect, the resubscription's retained copies are news again (what was missed while away)
    client.emit('connect', { cmd: 'connack', returnCode: 0, sessionPresent: false });
    client.emit('message', topic, doc('idle', '3', 1, 'boot-3'), { cmd: 'publish', topic, payload: '', qos: 1, dup: false, retain: true });
    assert.is(board.reports.get('dev-1')?.version, 3);
  } finally {
    await client.endAsync();
    await broker.close();
  }
});

test.run();
