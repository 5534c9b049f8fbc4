/** The notice inbox: duplicates and stale notices ignored, one install at a time, only the newest waiting notice kept. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, NoticeInbox } from '../../../agent/src/machine/index.js';
import type { VerifiedNotice } from '../../../agent/src/machine/index.js';
import { FakePorts, MemoryJournal, fakeNotice, freshDevice } from '../../support/fake-device.js';
import { idleTimers } from '../../support/idle-timers.js';

/** The fake verifier's identity of a fake notice. */
async function identify(bytes: Uint8Array): Promise<VerifiedNotice> {
  const n: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
  if (typeof n !== 'object' || n === null || !('sequence' in n) || typeof n.sequence !== 'number') throw new Error('not a notice');
  return { version: n.sequence, sequence: n.sequence };
}

async function setup(): Promise<{ inbox: NoticeInbox; ports: FakePorts; versions: string[] }> {
  const device = freshDevice();
  const ports = new FakePorts(device, () => undefined);
  const versions: string[] = [];
  const machine = new Machine(ports, new MemoryJournal(), { onTransition: (_f, e, to) => { if (to === 'verifying' && e === 'notice') versions.push('start'); } });
  await machine.resume(new AbortController().signal);
  const inbox = new NoticeInbox({ identify, machine, signal: new AbortController().signal });
  return { inbox, ports, versions };
}

const n = (sequence: number): Uint8Array => fakeNotice({ version: sequence, sequence, image: `img-${sequence}` });

test('a duplicate of an installed notice and an older one are ignored', async () => {
  const { inbox, ports } = await setup();
  assert.is(await inbox.offer(n(5)), 'started');
  await inbox.settled();
  assert.is(await inbox.offer(n(5)), 'duplicate');
  assert.is(await inbox.offer(n(4)), 'stale');
  assert.is(ports.device.reports.length, 1);
});

test('notices during an install wait; only the newest is kept and runs next', async () => {
  const { inbox, ports, versions } = await setup();
  assert.is(await inbox.offer(n(1)), 'started');
  assert.is(await inbox.offer(n(1)), 'duplicate', 'the one installing');
  assert.is(await inbox.offer(n(3)), 'queued');
  assert.is(await inbox.offer(n(2)), 'stale', 'older than the waiting one');
  assert.is(await inbox.offer(n(4)), 'superseded');
  assert.is(inbox.waitingSequence, 4);
  await inbox.settled();
  assert.equal(versions, ['start', 'start'], 'two installs, one after the other');
  assert.equal(ports.device.reports.map((r) => r.sequence), [1, 4]);
  assert.is(ports.device.slots[ports.device.booted]?.content, 'img-4');
});

test('a notice that arrives before the journal is resumed waits for kick()', async () => {
  const ports = new FakePorts(freshDevice(), () => undefined);
  const machine = new Machine(ports, new MemoryJournal());
  const inbox = new NoticeInbox({ identify, machine, signal: new AbortController().signal });
  assert.is(await inbox.offer(n(1)), 'queued');
  await machine.resume(new AbortController().signal);
  inbox.kick();
  await inbox.settled();
  assert.equal(ports.device.reports.map((r) => r.sequence), [1]);
});

test('an invalid notice is refused without touching the machine', async () => {
  const { inbox, versions } = await setup();
  assert.is(await inbox.offer(Buffer.from('garbage')), 'invalid');
  assert.equal(versions, []);
});

test('the reason identify refused a notice goes to onInvalid', async () => {
  const reasons: unknown[] = [];
  const refusal = new Error('release 2 already failed its health check on this device: not retried');
  const machine = { busy: false, current: { highestSequence: 0 }, start: () => Promise.reject(new Error('must not start')) };
  const inbox = new NoticeInbox({ identify: () => Promise.reject(refusal), machine, signal: new AbortController().signal, onInvalid: (err) => reasons.push(err) });
  assert.is(await inbox.offer(Buffer.from('notice')), 'invalid');
  assert.equal(reasons, [refusal]);
});

test('the machine refuses to start before resuming, and a second start while busy', async () => {
  const device = freshDevice();
  const ports = new FakePorts(device, () => undefined);
  ports.faults.set('install', 'hang');
  const machine = new Machine(ports, new MemoryJournal(), { deadlinesMs: { installing: 50 }, timers: idleTimers });
  try {
    await machine.start(n(1), new AbortController().signal);
    assert.unreachable('started before resuming the journal');
  } catch (err) {
    assert.match(String(err), 'must resume');
  }
  await machine.resume(new AbortController().signal);
  const first = machine.start(n(1), new AbortController().signal);
  try {
    await machine.start(n(2), new AbortController().signal);
    assert.unreachable('second start accepted');
  } catch (err) {
    assert.match(String(err), 'already running');
  }
  assert.is((await first).kind, 'rest');
});

test.run();
