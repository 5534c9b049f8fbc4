/**
 * The table owns every state change: handlers can return only the events their row routes (checked
 * by the compiler: each `@ts-expect-error` below fails the build once such an event type-checks), the
 * outcome is decided by the table's columns, and the operator's `abandon` goes through the table and
 * is reported like any end.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, machine, outcomeAfter, states, statesIn } from '../../../agent/src/machine/index.js';
import type { Job, Step } from '../../../agent/src/machine/index.js';
import { FakePorts, MemoryJournal, fakeNotice, freshDevice } from '../../support/fake-device.js';

const job: Job = { noticeBase64: '', progress: 0, saves: {} };

// @ts-expect-error verifying's row routes no `reboot`: a handler returning it does not compile
const rebootWhileVerifying: Step<'verifying'> = async (j) => ({ event: 'reboot', job: j });
// @ts-expect-error committing's row routes no `rearm`
const rearmWhileCommitting: Step<'committing'> = async (j) => ({ event: 'rearm', job: j });
// @ts-expect-error only rows before arming route `abandon`
const abandonDuringTrial: Step<'checking'> = async (j) => ({ event: 'abandon', job: j });
const rearmWhileChecking: Step<'checking'> = async (j) => ({ event: 'rearm', job: j });

test('the typed handlers above return what they say (the table routes the allowed one)', async () => {
  for (const [step, event] of [[rebootWhileVerifying, 'reboot'], [rearmWhileCommitting, 'rearm'], [abandonDuringTrial, 'abandon'], [rearmWhileChecking, 'rearm']] as const) {
    const ctx = { ports: new FakePorts(freshDevice(), () => undefined), signal: new AbortController().signal, checkpoint: async () => undefined };
    assert.is((await step(job, ctx)).event, event);
  }
  assert.is(machine.checking.on.rearm, 'arming');
});

test('the outcome is the table\'s: failures before arming are rejected (verifying) or failed, a commit installs, a revert reverts', () => {
  assert.is(outcomeAfter('verifying', 'fail', undefined), 'rejected');
  assert.is(outcomeAfter('installing', 'abandon', undefined), 'failed');
  assert.is(outcomeAfter('checking', 'fellBack', undefined), 'failed');
  assert.is(outcomeAfter('committing', 'ok', undefined), 'installed');
  assert.is(outcomeAfter('committing', 'reboot', undefined), 'installed', 'the commit was written; the reboot only runs the trial again');
  assert.is(outcomeAfter('reverting', 'fail', 'installed'), 'failed');
  assert.is(outcomeAfter('reverting', 'ok', 'failed'), 'reverted');
  assert.is(outcomeAfter('checking', 'ok', undefined), undefined, 'a passed health check decides nothing yet');
  assert.is(outcomeAfter('reporting', 'fail', 'installed'), 'installed', 'a failed report does not change what happened');
});

test('the state lists outside the machine come from the table', () => {
  assert.equal(statesIn('install'), ['verifying', 'installing', 'verifyingSlot']);
  assert.equal(states.filter((s) => machine[s].on.abandon !== undefined), statesIn('install'));
  assert.equal(statesIn('trial'), ['checking', 'committing']);
});

/** A machine stopped by a power cut in `installing` (its journal says so), and a fresh one on the same journal. */
async function cutInstalling(): Promise<{ device: ReturnType<typeof freshDevice>; journal: MemoryJournal }> {
  const device = freshDevice();
  const journal = new MemoryJournal();
  const controller = new AbortController();
  const ports = new FakePorts(device, () => controller.abort());
  ports.faults.set('install', 'cutBefore');
  const m = new Machine(ports, journal);
  await m.resume(controller.signal);
  assert.is((await m.start(fakeNotice({ version: 2, sequence: 1, image: 'v2-image' }), controller.signal)).kind, 'stopped');
  return { device, journal };
}

test('abandon before arming: through the table to reporting, reported failed with the reason, then rest', async () => {
  const { device, journal } = await cutInstalling();
  const chain: string[] = [];
  const m = new Machine(new FakePorts(device, () => undefined), journal, {
    onTransition: (from, event, to) => chain.push(`${from} -${event}-> ${to}`),
  });
  const result = await m.abandon('given up by the operator', new AbortController().signal);
  assert.equal(chain, ['installing -abandon-> reporting', 'reporting -ok-> idle']);
  assert.equal(device.reports.map((r) => [r.outcome, r.version, r.error]), [['failed', 2, 'given up by the operator']]);
  assert.is(result.kind === 'rest' && result.record.last?.outcome, 'failed');
  assert.is(result.kind === 'rest' && result.record.highestSequence, 1);
});

test('abandon is refused once the trial is armed, and at rest', async () => {
  for (const state of ['checking', 'idle'] as const) {
    const journal = new MemoryJournal();
    await journal.save({ state, highestSequence: 1, ...(state === 'idle' ? {} : { job: { ...job, target: 'B', previous: 'A' } }) });
    const m = new Machine(new FakePorts(freshDevice(), () => undefined), journal);
    await m.abandon('no', new AbortController().signal).then(() => assert.unreachable(`abandoned in ${state}`), (err: unknown) => {
      assert.is(err instanceof Error && 'code' in err ? err.code : undefined, 'MACHINE_NOT_ABANDONABLE', state);
    });
  }
});

test.run();
