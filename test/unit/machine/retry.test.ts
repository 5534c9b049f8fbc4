/** The inbox's retry of a failed install (agent/src/machine/retry.ts): which failures, how often, how late, and what cancels it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEFAULT_RETRY, NoticeInbox, retryDelayMs, type InboxMachine, type JournalRecord, type RetryMark, type RetryPolicy, type RetryStore, type RunResult,
} from '../../../agent/src/machine/index.js';

/** Timers that run only when the test says so. */
class StepTimers {
  readonly pending: { fn: () => void; delayMs: number; cancelled: boolean }[] = [];
  schedule(fn: () => void, delayMs: number): () => void {
    const t = { fn, delayMs, cancelled: false };
    this.pending.push(t);
    return () => { t.cancelled = true; };
  }
  /** Run the live timers scheduled so far; returns their delays. */
  fire(): number[] {
    const live = this.pending.splice(0).filter((t) => !t.cancelled);
    for (const t of live) t.fn();
    return live.map((t) => t.delayMs);
  }
  get live(): number { return this.pending.filter((t) => !t.cancelled).length; }
}

/** A machine whose every run rests with the outcome the test sets; it records the notices it started. */
function fakeMachine(): InboxMachine & { current: InboxMachine['current']; started: string[]; next: (seq: number) => JournalRecord['last'] } {
  const m = {
    busy: false, current: { highestSequence: 0 } as InboxMachine['current'], started: [] as string[],
    next: (_seq: number): JournalRecord['last'] => ({ outcome: 'failed', version: 2, error: 'download: 404 Not Found', errorCode: 'DOWNLOAD_HTTP' }),
    async start(notice: Uint8Array): Promise<RunResult> {
      const seq = Number(Buffer.from(notice).toString('utf8'));
      m.started.push(String(seq));
      const last = m.next(seq);
      m.current = { highestSequence: Math.max(m.current.highestSequence, seq), state: 'idle', ...(last === undefined ? {} : { last }) };
      return { kind: 'rest', record: { state: 'idle', highestSequence: m.current.highestSequence, ...(last === undefined ? {} : { last }) } };
    },
  };
  return m;
}

const policy: RetryPolicy = { maxRetries: 3, firstDelayMs: 1000, maxDelayMs: 3000 };
const identify = async (b: Uint8Array) => ({ version: 2, sequence: Number(Buffer.from(b).toString('utf8')) });

/** A retry store in memory (the daemon's is `<dataDir>/retry.json`). */
class MemoryRetryStore implements RetryStore {
  mark: RetryMark | undefined;
  load(): Promise<RetryMark | undefined> { return Promise.resolve(this.mark); }
  save(mark: RetryMark | undefined): Promise<void> { this.mark = mark; return Promise.resolve(); }
}

function setup(random = () => 0.5, machine = fakeMachine(), store?: RetryStore) {
  const timers = new StepTimers();
  const events: (number | undefined)[] = [];
  const stop = new AbortController();
  const inbox = new NoticeInbox({
    identify, machine, signal: stop.signal, retry: { policy, timers, random, onRetry: (e) => events.push(e.delayMs), ...(store === undefined ? {} : { store }) },
  });
  return { machine, timers, events, inbox, stop };
}

test('a download that failed for a 404 is tried again with the same notice, later each time, and the policy gives up after maxRetries', async () => {
  const { machine, timers, events, inbox } = setup();
  assert.is(await inbox.offer(Buffer.from('7')), 'started');
  await inbox.settled();
  const delays: number[] = [];
  for (let k = 0; k < 5; k++) {
    delays.push(...timers.fire());
    await inbox.settled();
  }
  assert.equal(machine.started, ['7', '7', '7', '7'], 'the first try and 3 retries, all of notice 7');
  assert.equal(delays, [750, 1500, 2250], 'half the ceiling plus a random half; the ceiling doubles up to maxDelayMs');
  assert.equal(events, [750, 1500, 2250, undefined], 'each failure reported; the last one says the policy gave up');
  assert.is(timers.live, 0);
});

test('never retried: a hash mismatch, a bad signature, a reverted trial, a success', async () => {
  const lasts: JournalRecord['last'][] = [
    { outcome: 'failed', version: 2, error: 'segment 3 hash mismatch', errorCode: 'DOWNLOAD_HASH_MISMATCH' },
    { outcome: 'failed', version: 2, error: 'notice: bad signature', errorCode: 'SIGNATURE_INVALID' },
    { outcome: 'failed', version: 2, error: 'an untyped error' },
    { outcome: 'reverted', version: 2, error: 'required health check failed on slot B', errorCode: 'HEALTH_REQUIRED_FAILED' },
    { outcome: 'installed', version: 2 },
  ];
  for (const last of lasts) {
    const { machine, timers, events, inbox } = setup();
    machine.next = () => last;
    await inbox.offer(Buffer.from('7'));
    await inbox.settled();
    assert.is(timers.live, 0, JSON.stringify(last));
    assert.equal(events, []);
  }
});

test('a newer notice cancels the retry; a retry that then succeeds ends the retries; shutdown cancels a pending one', async () => {
  const { machine, timers, inbox, stop } = setup();
  await inbox.offer(Buffer.from('7'));
  await inbox.settled();
  assert.is(timers.live, 1);
  assert.is(await inbox.offer(Buffer.from('7')), 'duplicate', 'the retained notice redelivered does not cancel its own retry');
  assert.is(timers.live, 1);
  machine.next = (seq) => (seq === 8 ? { outcome: 'installed', version: 3 } : { outcome: 'failed', version: 2, error: '404', errorCode: 'DOWNLOAD_HTTP' });
  assert.is(await inbox.offer(Buffer.from('8')), 'started');
  await inbox.settled();
  assert.is(timers.live, 0, 'notice 8 replaced the retry of 7');
  timers.fire();
  await inbox.settled();
  assert.equal(machine.started, ['7', '8']);

  machine.next = () => ({ outcome: 'failed', version: 4, error: 'every mirror failed', errorCode: 'DOWNLOAD_FAILED' });
  await inbox.offer(Buffer.from('9'));
  await inbox.settled();
  machine.next = () => ({ outcome: 'installed', version: 4 });
  timers.fire();
  await inbox.settled();
  assert.equal(machine.started, ['7', '8', '9', '9']);
  assert.is(timers.live, 0, 'the retry succeeded: nothing more');

  machine.next = () => ({ outcome: 'failed', version: 5, error: '503', errorCode: 'DOWNLOAD_HTTP' });
  await inbox.offer(Buffer.from('10'));
  await inbox.settled();
  assert.is(timers.live, 1);
  stop.abort();
  assert.is(timers.live, 0, 'the agent stopping cancels the retry');
});

test('a newer rollout document that leaves the device out (a halt) withdraws the notice a retry holds; an older one does not', async () => {
  const { timers, inbox } = setup();
  await inbox.offer(Buffer.from('7'));
  await inbox.settled();
  inbox.withdrawnBy(7);
  assert.is(timers.live, 1, 'not newer: the retry stays');
  inbox.withdrawnBy(8);
  assert.is(timers.live, 0, 'the halt (rollout 8) stopped it');
});

test('the retry count is kept across agent restarts: the failed notice offered again resumes at its count, and one given up on stays given up', async () => {
  const store = new MemoryRetryStore();
  const a = setup(() => 0.5, fakeMachine(), store);
  await a.inbox.offer(Buffer.from('7'));
  await a.inbox.settled();
  a.timers.fire(); // retry 1 runs and fails: retry 2 is scheduled
  await a.inbox.settled();
  assert.equal(store.mark, { sequence: 7, retries: 2 });
  a.stop.abort(); // the agent stops before retry 2 runs

  const b = setup(() => 0.5, a.machine, store); // restarted: same journal, same store, a fresh inbox
  assert.is(await b.inbox.offer(Buffer.from('7')), 'duplicate', 'the retained notice, redelivered after the restart');
  assert.equal(b.events, [1500], 'retry 2 again, with its own delay (not retry 1 from zero)');
  for (let k = 0; k < 3; k++) {
    b.timers.fire();
    await b.inbox.settled();
  }
  assert.equal(a.machine.started, ['7', '7', '7', '7'], 'the first try and 3 retries in all, across the restart');
  assert.equal(b.events, [1500, 2250, undefined], 'retries 2 and 3, then the policy gives up');
  assert.equal(store.mark, { sequence: 7, retries: 4 }, 'given up: more than maxRetries');
  b.stop.abort();

  const c = setup(() => 0.5, a.machine, store);
  assert.is(await c.inbox.offer(Buffer.from('7')), 'duplicate');
  assert.is(c.timers.live, 0, 'given up before the restart: no retry after it');
  assert.equal(c.events, []);
});

test('a restart with no saved count resumes at retry 1; a success clears the count', async () => {
  const store = new MemoryRetryStore();
  const machine = fakeMachine();
  machine.current = { highestSequence: 7, state: 'idle', last: { outcome: 'failed', version: 2, error: 'download: 404 Not Found', errorCode: 'DOWNLOAD_HTTP' } };
  const b = setup(() => 0.5, machine, store);
  assert.is(await b.inbox.offer(Buffer.from('7')), 'duplicate');
  assert.equal([b.events, store.mark], [[750], { sequence: 7, retries: 1 }]);
  machine.next = () => ({ outcome: 'installed', version: 2 });
  b.timers.fire();
  await b.inbox.settled();
  assert.equal([machine.started, store.mark, b.timers.live], [['7'], undefined, 0]);
});

test('the default policy: 8 retries, ceilings from 1 min doubling to 1 h; never sooner than half the ceiling', () => {
  const lows = Array.from({ length: 9 }, (_, k) => retryDelayMs(k, DEFAULT_RETRY, () => 0));
  assert.equal(lows, [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000, undefined]);
  assert.ok((retryDelayMs(7, DEFAULT_RETRY, () => 0.999999) ?? 0) < 3_600_000);
});

test.run();
