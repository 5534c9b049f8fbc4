/**
 * The order of notices across a rotation of the rollout keys: a stolen key's 2^53-1 stops holding the device
 * back once the fleet rotates that key out (the verifier restarts rollout versions; the journal and inbox too).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, NoticeInbox } from '../../../agent/src/machine/index.js';
import { advance, floorFor } from '../../../agent/src/machine/sequence.js';
import { FakePorts, MemoryJournal, fakeNotice, freshDevice } from '../../support/fake-device.js';

const MAX = Number.MAX_SAFE_INTEGER;

test('floorFor and advance: sequences order within one epoch; a mark without an epoch orders against all', () => {
  assert.is(floorFor('new', [{ sequence: MAX, epoch: 'old' }, { sequence: 2, epoch: 'new' }]), 2);
  assert.is(floorFor('new', [{ sequence: MAX }]), MAX, 'a journal from before epochs keeps its floor');
  assert.is(floorFor(undefined, [{ sequence: 7, epoch: 'old' }, undefined]), 7);
  assert.equal(advance({ sequence: MAX, epoch: 'old' }, { sequence: 3, epoch: 'new' }), { sequence: 3, epoch: 'new' });
  assert.equal(advance({ sequence: 9, epoch: 'e' }, { sequence: 3, epoch: 'e' }), { sequence: 9, epoch: 'e' });
  assert.equal(advance({ sequence: 9 }, { sequence: 12, epoch: 'e' }), { sequence: 12, epoch: 'e' });
  assert.equal(advance({ sequence: 9, epoch: 'e' }, undefined), { sequence: 9, epoch: 'e' });
});

test('after a stolen key fast-forwarded the journal, the rotated keys\' notices install and restart the order', async () => {
  const ports = new FakePorts(freshDevice(), () => undefined);
  const journal = new MemoryJournal();
  await journal.save({ state: 'idle', highestSequence: MAX, sequenceEpoch: 'stolen' });
  const machine = new Machine(ports, journal);
  await machine.resume(new AbortController().signal);
  const inbox = new NoticeInbox({ identify: (b) => ports.verify(b, new AbortController().signal), machine, signal: new AbortController().signal });
  const notice = (sequence: number, epoch: string): Uint8Array => fakeNotice({ version: sequence + 1, sequence, image: `img-${sequence}`, epoch });
  assert.is(await inbox.offer(notice(5, 'stolen')), 'stale', 'the stolen epoch still orders its own notices');
  assert.is(await inbox.offer(notice(2, 'rotated')), 'started', 'before epochs: stale below 2^53-1, the device frozen for good');
  await inbox.settled();
  assert.equal([machine.current.highestSequence, machine.current.sequenceEpoch], [2, 'rotated']);
  assert.is(await inbox.offer(notice(2, 'rotated')), 'duplicate');
  assert.is(await inbox.offer(notice(1, 'rotated')), 'stale');
  assert.is(await inbox.offer(notice(3, 'rotated')), 'started');
  await inbox.settled();
  assert.is(ports.device.reports.length, 2);
});

test.run();
