import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Download, type DownloadOptions, type DownloadPlan } from '../../../agent/src/download/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { RangeServer, type Fault } from '../../support/range-server.js';
import { checkingConsumer, planFor, randomBytesSeeded } from '../../support/download.js';
import { tempDir } from '../../support/tools.js';

const SEGMENT = 16 * 1024;
const BODY = randomBytesSeeded(4 * SEGMENT, 3);
const FAST = { backoff: { baseMs: 1, capMs: 5 }, limits: { stallTimeoutMs: 300, minBytesPerSecond: 0, windowMs: 300 } };

interface Outcome { error: OtaError | undefined; codes: string[]; reactions: string[]; indexes: number[]; delays: number[] }

/** Download from `servers` (mirrors in order) with a checking consumer. */
async function fetchFrom(servers: RangeServer[], extra: Partial<DownloadOptions> = {}, plan?: DownloadPlan): Promise<Outcome> {
  const t = tempDir();
  try {
    const p = plan ?? planFor(BODY, servers.map((s) => s.url()), SEGMENT);
    const consumer = checkingConsumer(BODY, p);
    const d = new Download({ plan: p, stateDir: t.dir, onSegment: consumer.onSegment, ...FAST, ...extra });
    const out: Outcome = { error: undefined, codes: [], reactions: [], indexes: consumer.indexes, delays: [] };
    d.on('retry', (e) => { out.codes.push(e.code); out.reactions.push(e.reaction); out.delays.push(e.delayMs); });
    try { await d.run(); } catch (err) { if (err instanceof OtaError) out.error = err; else throw err; }
    assert.equal(consumer.unverified, [], 'no unverified byte reaches the consumer');
    return out;
  } finally { t.cleanup(); }
}

async function servers(n: number): Promise<RangeServer[]> {
  return Promise.all(Array.from({ length: n }, () => new RangeServer(BODY).start()));
}

async function closeAll(list: RangeServer[]): Promise<void> {
  await Promise.all(list.map((s) => s.close()));
}

const ALL = [0, 1, 2, 3];

// Each row: a fault on the first request of the only mirror, the reaction and the code, then (for `retry`) success.
const retried: [string, Fault, string][] = [
  ['stall before headers', { kind: 'stall-headers' }, 'DOWNLOAD_STALL'],
  ['stall mid-body', { kind: 'stall-body', afterBytes: 20_000 }, 'DOWNLOAD_STALL'],
  ['500', { kind: 'status', status: 500 }, 'DOWNLOAD_HTTP'],
  ['503 without Retry-After', { kind: 'status', status: 503 }, 'DOWNLOAD_BUSY'],
];
for (const [name, fault, code] of retried) {
  test(`${name}: retry the same mirror (${code}), then complete`, async () => {
    const [s] = await servers(1);
    if (s === undefined) throw new Error('no server');
    try {
      s.faults.push(fault);
      const out = await fetchFrom([s]);
      assert.is(out.error, undefined);
      assert.equal(out.codes, [code]);
      assert.equal(out.reactions, ['retry']);
      assert.equal(out.indexes, ALL);
      if (fault.kind === 'stall-body') assert.is(s.requests[1]?.range, `bytes=20000-${BODY.length - 1}`);
    } finally { await closeAll([s]); }
  });
}

test('429/503 with Retry-After: the wait honours it (plus jitter), up to maxRetryAfterMs', async () => {
  const [s] = await servers(1);
  if (s === undefined) throw new Error('no server');
  try {
    s.faults.push({ kind: 'status', status: 429, retryAfter: '1' }, { kind: 'status', status: 503, retryAfter: '86400' });
    const out = await fetchFrom([s], { maxRetryAfterMs: 50 });
    assert.is(out.error, undefined);
    assert.equal(out.codes, ['DOWNLOAD_BUSY', 'DOWNLOAD_BUSY']);
    assert.ok((out.delays[0] ?? 0) >= 50 && (out.delays[0] ?? 0) < 55, `Retry-After 1 s capped at 50 ms: delay ${out.delays[0]}`);
    assert.ok((out.delays[1] ?? 0) >= 50 && (out.delays[1] ?? 0) < 60, `a day capped at 50 ms: delay ${out.delays[1]}`);
    s.faults.push({ kind: 'status', status: 429, retryAfter: '1' });
    const honoured = await fetchFrom([s]);
    assert.ok((honoured.delays[0] ?? 0) >= 1000 && (honoured.delays[0] ?? 0) < 1005, `delay ${honoured.delays[0]}`);
  } finally { await closeAll([s]); }
});

// Each row: a fault on every request of mirror 1; mirror 2 completes the download; mirror 1 alone fails with the code.
const mirrorFaults: [string, Fault, string][] = [
  ['200 instead of 206', { kind: 'ignore-range' }, 'DOWNLOAD_NO_RANGE'],
  ['wrong Content-Range', { kind: 'bad-range' }, 'DOWNLOAD_BAD_RANGE'],
  ['Content-Length larger than the range', { kind: 'long-length' }, 'DOWNLOAD_BAD_RANGE'],
  ['Content-Encoding gzip', { kind: 'encoding' }, 'DOWNLOAD_ENCODING'],
  ['404', { kind: 'status', status: 404 }, 'DOWNLOAD_HTTP'],
  ['trickle below the floor', { kind: 'trickle', bytesPerSecond: 2000 }, 'DOWNLOAD_TRICKLE'],
];
for (const [name, fault, code] of mirrorFaults) {
  test(`${name}: next mirror (${code}); alone, a typed error`, async () => {
    const list = await servers(2);
    const [bad, good] = list;
    if (bad === undefined || good === undefined) throw new Error('no server');
    try {
      bad.always = fault;
      const slow = { limits: { stallTimeoutMs: 2000, minBytesPerSecond: 20_000, windowMs: 200 }, maxAttemptsPerMirror: 2 };
      const out = await fetchFrom([bad, good], fault.kind === 'trickle' ? slow : {});
      assert.is(out.error, undefined);
      assert.is(out.codes[0], code);
      assert.is(out.reactions[out.reactions.length - 1], 'next-mirror');
      assert.equal(out.indexes, ALL);
      const alone = await fetchFrom([bad], fault.kind === 'trickle' ? slow : {});
      assert.is(alone.error?.code, code);
      assert.ok(alone.error?.message.includes(bad.url()), 'the message names the mirror');
    } finally { await closeAll(list); }
  });
}

test('more than asked for: abort at the first extra byte; verified segments kept, the rest from the next mirror', async () => {
  const list = await servers(2);
  const [bad, good] = list;
  if (bad === undefined || good === undefined) throw new Error('no server');
  try {
    bad.always = { kind: 'overlong', extraBytes: 100_000 };
    const alone = await fetchFrom([bad], { maxRequestBytes: SEGMENT });
    assert.is(alone.error?.code, 'DOWNLOAD_OVERLONG');
    assert.equal(alone.indexes, [0], 'segment 0 verified before the extra bytes');
    const both = await fetchFrom([bad, good], { maxRequestBytes: SEGMENT });
    assert.is(both.error, undefined);
    assert.equal(both.indexes, ALL);
    assert.is(good.requests[0]?.range, `bytes=${SEGMENT}-${2 * SEGMENT - 1}`);
  } finally { await closeAll(list); }
});

test('a bad mirror cannot poison another: held bytes and validators stay with their mirror', async () => {
  const [a] = await servers(1);
  const b = await new RangeServer(BODY).start();
  b.setBody(BODY); // same bytes, another ETag
  try {
    if (a === undefined) throw new Error('no server');
    a.faults.push({ kind: 'cut', afterBytes: 5000 });
    a.always = { kind: 'status', status: 500 };
    const out = await fetchFrom([a, b], { maxAttemptsPerMirror: 2 });
    assert.is(out.error, undefined);
    assert.is(a.requests[1]?.ifRange, a.etag());
    assert.is(b.requests[0]?.range, `bytes=0-${BODY.length - 1}`, 'mirror 2 starts the segment over');
    assert.is(b.requests[0]?.ifRange, undefined, "mirror 1's ETag never sent to mirror 2");
    assert.equal(out.indexes, ALL);
  } finally { await closeAll([b, ...(a === undefined ? [] : [a])]); }
});

test('a segment whose bytes do not match the signed hash: never handed over, the mirror is dropped', async () => {
  const list = await servers(2);
  const [bad, good] = list;
  if (bad === undefined || good === undefined) throw new Error('no server');
  try {
    const evil = Buffer.from(BODY);
    evil[SEGMENT + 10] = (evil[SEGMENT + 10] ?? 0) ^ 1;
    bad.setBody(evil);
    const out = await fetchFrom([bad, good]);
    assert.equal(out.codes, ['DOWNLOAD_HASH_MISMATCH']);
    assert.equal(out.indexes, ALL);
    assert.is(good.requests[0]?.range, `bytes=${SEGMENT}-${BODY.length - 1}`);
  } finally { await closeAll(list); }
});

test('the AbortSignal stops a download with DOWNLOAD_ABORTED', async () => {
  const [s] = await servers(1);
  if (s === undefined) throw new Error('no server');
  try {
    s.always = { kind: 'stall-headers' };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const out = await fetchFrom([s], { signal: controller.signal, limits: { stallTimeoutMs: 10_000, minBytesPerSecond: 0, windowMs: 10_000 } });
    assert.is(out.error?.code, 'DOWNLOAD_ABORTED');
  } finally { await closeAll([s]); }
});

test.run();
