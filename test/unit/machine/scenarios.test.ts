/**
 * Mender-style scenario table: a fault injected at one port (an error, a power cut
 * before or after the work, a hang past the deadline), the expected chain of states
 * (`|` marks a power cut: the runner stopped, the device powered on again, a fresh
 * runner resumed from the journal), the slot booted at rest and the outcome reported.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine } from '../../../agent/src/machine/index.js';
import type { State } from '../../../agent/src/machine/index.js';
import { BROKEN, FakePorts, MemoryJournal, fakeNotice, freshDevice, loseEnv, powerOn } from '../../support/fake-device.js';
import type { DeviceState, Fault, PortName } from '../../support/fake-device.js';
import { idleTimers } from '../../support/idle-timers.js';

const HEAD = 'verifying installing verifyingSlot arming rebooting checking';
const OK = `${HEAD} committing reporting idle`;
const BACK = 'reverting rebootingBack reverting reporting idle';

interface Scenario {
  name: string;
  port?: PortName;
  fault?: Fault;
  sticky?: boolean;
  /** The cut kills only the agent: the device keeps running (no power-on). */
  agentOnly?: boolean;
  healthy?: boolean;
  /** The first power-on after the cut finds the env lost (the bootloader's defaults boot A). */
  envLost?: boolean;
  image?: string;
  chain: string;
  booted: 'A' | 'B';
  outcome: string;
}

const scenarios: Scenario[] = [
  { name: 'no fault',                                                         chain: OK,                                                    booted: 'B', outcome: 'installed' },
  { name: 'verify refuses',         port: 'verify',     fault: 'error',      chain: 'verifying reporting idle',                            booted: 'A', outcome: 'rejected' },
  { name: 'verify hangs',           port: 'verify',     fault: 'hang',       chain: 'verifying reporting idle',                            booted: 'A', outcome: 'rejected' },
  { name: 'cut during verify',      port: 'verify',     fault: 'cutBefore',  chain: `verifying | ${OK}`,                                   booted: 'B', outcome: 'installed' },
  { name: 'install fails',          port: 'install',    fault: 'error',      chain: 'verifying installing reporting idle',                 booted: 'A', outcome: 'failed' },
  { name: 'install hangs',          port: 'install',    fault: 'hang',       chain: 'verifying installing reporting idle',                 booted: 'A', outcome: 'failed' },
  { name: 'cut mid-install',        port: 'install',    fault: 'cutAfter',   chain: `verifying installing | installing verifyingSlot arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'install crash loop',     port: 'install',    fault: 'cutAfter',   sticky: true, chain: 'verifying installing | installing | installing | installing reporting idle', booted: 'A', outcome: 'failed' },
  { name: 'slot digest mismatch',   port: 'verifySlot', fault: 'error',      chain: 'verifying installing verifyingSlot reporting idle',   booted: 'A', outcome: 'failed' },
  { name: 'cut before slot check',  port: 'verifySlot', fault: 'cutBefore',  chain: `verifying installing verifyingSlot | verifyingSlot arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'arm write fails',        port: 'arm',        fault: 'error',      chain: 'verifying installing verifyingSlot arming reverting reporting idle', booted: 'A', outcome: 'reverted' },
  { name: 'cut before arm write',   port: 'arm',        fault: 'cutBefore',  chain: 'verifying installing verifyingSlot arming | arming rebooting checking committing reporting idle', booted: 'B', outcome: 'installed' },
  { name: 'cut after arm write',    port: 'arm',        fault: 'cutAfter',   chain: 'verifying installing verifyingSlot arming | arming rebooting checking committing reporting idle', booted: 'B', outcome: 'installed' },
  { name: 'cut before reboot',      port: 'reboot',     fault: 'cutBefore',  chain: `${HEAD.replace(' checking', '')} | checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'agent dies before reboot', port: 'reboot', fault: 'cutBefore', agentOnly: true, chain: `${HEAD.replace(' checking', '')} | checking rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'health fails',           port: 'health',     fault: 'error',      chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'health says unhealthy',  healthy: false,                          chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'health hangs',           port: 'health',     fault: 'hang',       chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'cut during health',      port: 'health',     fault: 'cutBefore',  chain: `${HEAD} | checking committing reporting idle`,        booted: 'B', outcome: 'installed' },
  { name: 'health crash loop',      port: 'health',     fault: 'cutBefore',  sticky: true, chain: `${HEAD} | checking | checking | checking reverting reporting idle`, booted: 'A', outcome: 'reverted' },
  { name: 'never reaches agent',    image: `${BROKEN}-v2`,                   chain: `${HEAD} reverting reporting idle`,                    booted: 'A', outcome: 'reverted' },
  { name: 'commit write fails',     port: 'commit',     fault: 'error',      chain: `${HEAD} committing ${BACK}`,                          booted: 'A', outcome: 'reverted' },
  { name: 'cut after commit write', port: 'commit',     fault: 'cutAfter',   chain: `${HEAD} committing | committing reporting idle`,      booted: 'B', outcome: 'installed' },
  // the env was lost during the trial boot (before the check): A boots; the trial of B is armed again, not failed
  { name: 'env lost in the trial',  port: 'health', fault: 'cutBefore', envLost: true,
    chain: `${HEAD} | checking arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  // the arming write was lost before the reboot: the same
  { name: 'env lost after arming',  port: 'reboot', fault: 'cutBefore', envLost: true,
    chain: `${HEAD.replace(' checking', '')} | checking arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  // the trial passed, then the env was lost before the commit stuck: A boots; the commit makes B primary and reboots into it
  { name: 'env lost before commit', port: 'commit', fault: 'cutBefore', envLost: true,
    chain: `${HEAD} committing | committing rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'revert write fails',     port: 'revert',     fault: 'error',      healthy: false, chain: `${HEAD} reverting rebootingBack ${BACK}`, booted: 'A', outcome: 'reverted' },
  { name: 'cut before revert',      port: 'revert',     fault: 'cutBefore',  healthy: false, chain: `${HEAD} reverting | ${BACK}`,        booted: 'A', outcome: 'reverted' },
  { name: 'cut after revert',       port: 'revert',     fault: 'cutAfter',   healthy: false, chain: `${HEAD} reverting | reverting reporting idle`, booted: 'A', outcome: 'reverted' },
  { name: 'cut during report',      port: 'report',     fault: 'cutBefore',  chain: `${HEAD} committing reporting | reporting idle`,       booted: 'B', outcome: 'installed' },
];

/** Run one scenario to rest, powering the device on again after each cut. */
async function play(s: Scenario): Promise<{ chain: string; device: DeviceState; journal: MemoryJournal }> {
  const device = freshDevice();
  const journal = new MemoryJournal();
  const chain: string[] = [];
  let controller = new AbortController();
  const ports = new FakePorts(device, () => controller.abort());
  if (s.port !== undefined && s.fault !== undefined) ports.faults.set(s.port, s.fault);
  if (s.sticky === true && s.port !== undefined) ports.sticky.add(s.port);
  ports.healthy = s.healthy ?? true;
  const deadlinesMs: Partial<Record<State, number>> = { verifying: 100, installing: 100, verifyingSlot: 100, checking: 100 };
  const make = (): Machine => new Machine(ports, journal, { deadlinesMs, timers: idleTimers, onEnter: (st) => chain.push(st) });
  const first = make();
  await first.resume(controller.signal);
  let result = await first.start(fakeNotice({ version: 'v2', sequence: 1, image: s.image ?? 'v2-image' }), controller.signal);
  for (let restarts = 0; result.kind === 'stopped'; restarts++) {
    if (restarts > 8) throw new Error(`${s.name}: no convergence: ${chain.join(' ')}`);
    chain.push('|');
    if (s.envLost === true && restarts === 0) loseEnv(device);
    if (s.agentOnly !== true) powerOn(device);
    controller = new AbortController();
    result = await make().resume(controller.signal);
  }
  return { chain: chain.join(' '), device, journal };
}

for (const s of scenarios) {
  test(`scenario: ${s.name}`, async () => {
    const { chain, device, journal } = await play(s);
    assert.is(chain, s.chain);
    assert.is(device.booted, s.booted, 'booted slot at rest');
    assert.is(device.primary, s.booted, 'the bootloader boots the slot we run');
    assert.is(device.slots[s.booted]?.state, 'good', 'the running slot is committed');
    assert.equal(device.reports.map((r) => r.outcome), [s.outcome], 'exactly one report');
    const loaded = await journal.load();
    assert.is(loaded.kind === 'ok' && loaded.record.state, 'idle');
    assert.is(loaded.kind === 'ok' && loaded.record.last?.outcome, s.outcome);
    if (s.outcome === 'installed') assert.is(device.slots['B']?.content, 'v2-image');
  });
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
  const { journal } = await play({ name: 'seq', chain: OK, booted: 'B', outcome: 'installed' });
  const loaded = await journal.load();
  assert.is(loaded.kind === 'ok' && loaded.record.highestSequence, 1);
});

test('current is the journal only once loaded: a fresh machine on a saved outcome says so', async () => {
  const { journal } = await play({ name: 'seq', chain: OK, booted: 'B', outcome: 'installed' });
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

const RESTORE_JOB = { noticeBase64: '', version: 'v2', target: 'B', previous: 'A', progress: 0, saves: {} };

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
  const busy = new Machine(ports, new MemoryJournal(), { deadlinesMs: { checking: 200 }, timers: idleTimers });
  await busy.resume(new AbortController().signal);
  const running = busy.restore(RESTORE_JOB, new AbortController().signal);
  await busy.restore(RESTORE_JOB, new AbortController().signal).then(() => assert.unreachable('two at once'), (err: unknown) => {
    assert.is((err as { code?: string }).code, 'MACHINE_BUSY');
  });
  assert.is((await running).kind, 'rest');
});

test.run();
