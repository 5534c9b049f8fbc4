/**
 * The machine on the fake device beyond the scenario table (which runs against the fake and the real
 * ports in test/contract/machine/scenarios.test.ts): a corrupt or empty journal, the sequence kept,
 * and the restore of a committed slot a lost env put second.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine } from '../../../agent/src/machine/index.js';
import { FakePorts, MemoryJournal, fakeNotice, freshDevice, loseEnv, powerOn } from '../../support/fake-device.js';
import type { DeviceState } from '../../support/fake-device.js';
import { BACK } from '../../support/machine-scenarios.js';

/** A run without faults to rest, on the fake; its journal. */
async function installed(): Promise<MemoryJournal> {
  const journal = new MemoryJournal();
  const m = new Machine(new FakePorts(freshDevice(), () => undefined), journal);
  await m.resume(new AbortController().signal);
  const result = await m.start(fakeNotice({ version: 2, sequence: 1, image: 'v2-image' }), new AbortController().signal);
  assert.is(result.kind === 'rest' && result.record.last?.outcome, 'installed');
  return journal;
}

test('a corrupt journal during a trial boot resumes into a revert and a reboot to the committed slot', async () => {
  const device = freshDevice();
  Object.assign(device, { primary: 'B', booted: 'B' });
  device.slots['B'] = { state: 'trial', tries: 2, content: 'v2-image' };
  const journal = new MemoryJournal();
  journal.text = '{"format":"ota-journal/1","sha256":"00","body":"{}"}';
  const chain: string[] = [];
  const m = new Machine(new FakePorts(device, () => undefined), journal, { onEnter: (st) => chain.push(st) });
  const result = await m.resume(new AbortController().signal);
  assert.is(result.kind, 'rest');
  assert.is(chain.join(' '), BACK);
  assert.is(device.booted, 'A');
  assert.is(device.primary, 'A');
  assert.match(device.reports[0]?.error ?? '', 'journal unreadable');
});

test('an empty journal is rest: nothing runs', async () => {
  const device = freshDevice();
  const chain: string[] = [];
  const m = new Machine(new FakePorts(device, () => undefined), new MemoryJournal(), { onEnter: (st) => chain.push(st) });
  assert.is(m.busy, true, 'busy until the journal is read');
  assert.is((await m.resume(new AbortController().signal)).kind, 'rest');
  assert.equal(chain, []);
  assert.is(m.busy, false);
});

test('the highest accepted sequence survives in the journal', async () => {
  const journal = await installed();
  const loaded = await journal.load();
  assert.is(loaded.kind === 'ok' && loaded.record.highestSequence, 1);
});

test('current is the journal only once loaded: a fresh machine on a saved outcome says so', async () => {
  const journal = await installed();
  const m = new Machine(new FakePorts(freshDevice(), () => undefined), journal);
  assert.is(m.loaded, false);
  assert.is(m.current.last, undefined, 'before resume: a blank record, which the daemon must not publish');
  await m.resume(new AbortController().signal);
  assert.is(m.loaded, true);
  assert.is(m.current.last?.outcome, 'installed');
  assert.is(m.current.highestSequence, 1);
});

/** B committed with v2 and running, then the env lost at rest: the defaults boot A (what post-boot finds). */
function committedThenLost(): DeviceState {
  const device = freshDevice();
  device.slots['B'] = { state: 'good', tries: 0, content: 'v2-image' };
  Object.assign(device, { primary: 'B', booted: 'B' });
  loseEnv(device);
  powerOn(device);
  return device;
}

const RESTORE_JOB = { noticeBase64: '', version: 2, target: 'B', previous: 'A', progress: 0, saves: {} };

test('restore from rest: the committed slot a lost env put second is armed, booted, checked and committed again', async () => {
  const device = committedThenLost();
  assert.is(device.booted, 'A');
  const chain: string[] = [];
  const ports = new FakePorts(device, () => undefined);
  const m = new Machine(ports, new MemoryJournal(), { onEnter: (st) => chain.push(st) });
  assert.is((await m.resume(new AbortController().signal)).kind, 'rest');
  const result = await m.restore(RESTORE_JOB, new AbortController().signal);
  assert.is(chain.join(' '), 'arming rebooting checking committing reporting idle');
  assert.is(result.kind === 'rest' && result.record.last?.outcome, 'installed');
  assert.equal([device.booted, device.primary, device.slots['B']?.state], ['B', 'B', 'good']);
});

test('restore: a restored slot that fails its check is reverted like any trial; a cut mid-trial resumes it', async () => {
  const device = committedThenLost();
  const journal = new MemoryJournal();
  let controller = new AbortController();
  const ports = new FakePorts(device, () => controller.abort());
  ports.faults.set('health', 'cutBefore');
  const first = new Machine(ports, journal);
  await first.resume(controller.signal);
  assert.is((await first.restore(RESTORE_JOB, controller.signal)).kind, 'stopped');
  powerOn(device);
  controller = new AbortController();
  ports.healthy = false;
  const result = await new Machine(ports, journal).resume(controller.signal);
  assert.is(result.kind === 'rest' && result.record.last?.outcome, 'reverted');
  assert.equal([device.booted, device.primary, device.slots['B']?.state], ['A', 'A', 'bad']);
});

test('restore refuses before the journal is resumed and while an update runs', async () => {
  const device = committedThenLost();
  const m = new Machine(new FakePorts(device, () => undefined), new MemoryJournal());
  await m.restore(RESTORE_JOB, new AbortController().signal).then(() => assert.unreachable('restored before resume'), (err: unknown) => {
    assert.is((err as { code?: string }).code, 'MACHINE_NOT_RESUMED');
  });
  const ports = new FakePorts(device, () => undefined);
  ports.faults.set('health', 'hang');
  const busy = new Machine(ports, new MemoryJournal(), { deadlinesMs: { checking: 200 } });
  await busy.resume(new AbortController().signal);
  const running = busy.restore(RESTORE_JOB, new AbortController().signal);
  await busy.restore(RESTORE_JOB, new AbortController().signal).then(() => assert.unreachable('two at once'), (err: unknown) => {
    assert.is((err as { code?: string }).code, 'MACHINE_BUSY');
  });
  assert.is((await running).kind, 'rest');
});

test.run();
