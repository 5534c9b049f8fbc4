import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Download, type DownloadOptions, type DownloadPlan } from '../../../agent/src/download/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { RangeServer, type RangeServerOptions } from '../../support/range-server.js';
import { checkingConsumer, planFor, randomBytesSeeded } from '../../support/download.js';
import { tempDir } from '../../support/tools.js';

const SEGMENT = 16 * 1024;
const BODY = randomBytesSeeded(5 * SEGMENT + 1000, 1);
const FAST = { backoff: { baseMs: 1, capMs: 5 }, limits: { stallTimeoutMs: 2000, minBytesPerSecond: 0, windowMs: 2000 } };

async function withServer(options: RangeServerOptions, fn: (s: RangeServer) => Promise<void>): Promise<void> {
  const server = await new RangeServer(BODY, options).start();
  try { await fn(server); } finally { await server.close(); }
}

/** Run one download of `plan` into a checking consumer; returns it and the error, if any. */
async function run(plan: DownloadPlan, stateDir: string, extra: Partial<DownloadOptions> = {}) {
  const consumer = checkingConsumer(BODY, plan);
  const d = new Download({ plan, stateDir, onSegment: consumer.onSegment, ...FAST, ...extra });
  const codes: string[] = [];
  d.on('retry', (e) => codes.push(e.code));
  let error: OtaError | undefined;
  try { await d.run(); } catch (err) { if (err instanceof OtaError) error = err; else throw err; }
  assert.equal(consumer.unverified, [], 'no unverified byte reaches the consumer');
  return { consumer, error, codes };
}

test('clean download: every segment in order, identity encoding asked, one request', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      const plan = planFor(BODY, [s.url()], SEGMENT);
      const r = await run(plan, t.dir);
      assert.is(r.error, undefined);
      assert.equal(r.consumer.indexes, [0, 1, 2, 3, 4, 5]);
      assert.is(s.requests.length, 1);
      assert.is(s.requests[0]?.range, `bytes=0-${BODY.length - 1}`);
      assert.is(s.requests[0]?.acceptEncoding, 'identity');
      assert.is(s.requests[0]?.ifRange, undefined, 'no If-Range without held bytes');
    } finally { t.cleanup(); }
  });
});

test('a cut part way: the next request asks Range from the byte received, with If-Range = the strong ETag', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      const cutAt = 2 * SEGMENT + 5000;
      s.faults.push({ kind: 'cut', afterBytes: cutAt });
      const plan = planFor(BODY, [s.url()], SEGMENT);
      const r = await run(plan, t.dir);
      assert.is(r.error, undefined);
      assert.equal(r.codes, ['DOWNLOAD_CUT']);
      assert.is(s.requests[1]?.range, `bytes=${cutAt}-${BODY.length - 1}`);
      assert.is(s.requests[1]?.ifRange, s.etag());
      assert.equal(r.consumer.indexes, [0, 1, 2, 3, 4, 5]);
      assert.is(s.bodyBytesSent, BODY.length, 'not one byte fetched twice');
    } finally { t.cleanup(); }
  });
});

test('a consumer slower than the link: bytes that arrived before the cut are still used, none fetched twice', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      const cutAt = 3 * SEGMENT + 777;
      s.faults.push({ kind: 'cut', afterBytes: cutAt });
      const plan = planFor(BODY, [s.url()], SEGMENT);
      const consumer = checkingConsumer(BODY, plan);
      const slow = async (i: number, b: Buffer): Promise<void> => { await new Promise((r) => setTimeout(r, 30)); await consumer.onSegment(i, b); };
      await new Download({ plan, stateDir: t.dir, onSegment: slow, ...FAST }).run();
      assert.is(s.requests[1]?.range, `bytes=${cutAt}-${BODY.length - 1}`);
      assert.is(s.bodyBytesSent, BODY.length);
      assert.equal(consumer.unverified, []);
      assert.equal(consumer.indexes, [0, 1, 2, 3, 4, 5]);
    } finally { t.cleanup(); }
  });
});

test('no ETag: If-Range carries Last-Modified; weak ETag: ignored in favour of Last-Modified', async () => {
  for (const etag of ['none', 'weak'] as const) {
    await withServer({ etag }, async (s) => {
      const t = tempDir();
      try {
        s.faults.push({ kind: 'cut', afterBytes: 3000 });
        const r = await run(planFor(BODY, [s.url()], SEGMENT), t.dir);
        assert.is(r.error, undefined);
        assert.is(s.requests[1]?.range, `bytes=3000-${BODY.length - 1}`);
        assert.is(s.requests[1]?.ifRange, s.lastModified(), `etag ${etag}`);
      } finally { t.cleanup(); }
    });
  }
});

test('only a weak ETag: no validator to resume with, so the segment starts over without If-Range', async () => {
  await withServer({ etag: 'weak', lastModified: false }, async (s) => {
    const t = tempDir();
    try {
      s.faults.push({ kind: 'cut', afterBytes: SEGMENT + 3000 });
      const r = await run(planFor(BODY, [s.url()], SEGMENT), t.dir);
      assert.is(r.error, undefined);
      assert.is(s.requests[1]?.range, `bytes=${SEGMENT}-${BODY.length - 1}`);
      assert.is(s.requests[1]?.ifRange, undefined);
    } finally { t.cleanup(); }
  });
});

test('file re-published (new ETag, same bytes): 200 after If-Range, the segment starts over and completes', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      const oldEtag = s.etag();
      s.faults.push({ kind: 'cut', afterBytes: SEGMENT + 3000 });
      const plan = planFor(BODY, [s.url()], SEGMENT);
      const d = new Download({ plan, stateDir: t.dir, onSegment: async () => undefined, ...FAST });
      d.once('retry', () => s.setBody(BODY));
      await d.run();
      assert.is(s.requests[1]?.ifRange, oldEtag);
      assert.is(s.requests[2]?.range, `bytes=${SEGMENT}-${BODY.length - 1}`, 'segment 1 from its start');
      assert.is(s.requests[2]?.ifRange, undefined);
    } finally { t.cleanup(); }
  });
});

test('a 206 under another ETag than the held bytes (If-Range ignored): the segment starts over', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      s.faults.push({ kind: 'cut', afterBytes: SEGMENT + 3000 }, { kind: 'ignore-if-range' });
      const plan = planFor(BODY, [s.url()], SEGMENT);
      const consumer = checkingConsumer(BODY, plan);
      const d = new Download({ plan, stateDir: t.dir, onSegment: consumer.onSegment, ...FAST });
      const codes: string[] = [];
      d.on('retry', (e) => { codes.push(e.code); if (codes.length === 1) s.setBody(BODY); });
      await d.run();
      assert.equal(codes, ['DOWNLOAD_CUT', 'DOWNLOAD_CHANGED']);
      assert.is(s.requests[1]?.range, `bytes=${SEGMENT + 3000}-${BODY.length - 1}`);
      assert.is(s.requests[2]?.range, `bytes=${SEGMENT}-${BODY.length - 1}`);
      assert.equal(consumer.unverified, []);
      assert.equal(consumer.indexes, [0, 1, 2, 3, 4, 5]);
    } finally { t.cleanup(); }
  });
});

test('file replaced by other bytes: verified segments stay, the bad segment moves to the next mirror', async () => {
  const good = await new RangeServer(BODY).start();
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      s.faults.push({ kind: 'cut', afterBytes: 2 * SEGMENT + 100 });
      const plan = planFor(BODY, [s.url(), good.url()], SEGMENT);
      const codes: string[] = [];
      const consumer = checkingConsumer(BODY, plan);
      const d = new Download({ plan, stateDir: t.dir, onSegment: consumer.onSegment, ...FAST });
      d.on('retry', (e) => { codes.push(e.code); if (codes.length === 1) s.setBody(randomBytesSeeded(BODY.length, 2)); });
      await d.run();
      assert.equal(codes, ['DOWNLOAD_CUT', 'DOWNLOAD_CHANGED', 'DOWNLOAD_HASH_MISMATCH']);
      assert.equal(consumer.unverified, []);
      assert.equal(consumer.indexes, [0, 1, 2, 3, 4, 5]);
      assert.is(good.requests[0]?.range, `bytes=${2 * SEGMENT}-${BODY.length - 1}`);
    } finally { t.cleanup(); await good.close(); }
  });
});

test('a restarted process resumes inside the segment from the spool, with Range and If-Range', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      s.always = { kind: 'cut', afterBytes: 1500 };
      const plan = planFor(BODY, [s.url()], SEGMENT);
      const first = await run(plan, t.dir, { maxAttemptsPerMirror: 2, maxRequestBytes: SEGMENT });
      assert.is(first.error?.code, 'DOWNLOAD_CUT', 'one mirror, always cut: gives up with the typed error');
      assert.equal(first.consumer.indexes, []);
      s.always = undefined;
      const seen = s.requests.length;
      const second = await run(plan, t.dir);
      assert.is(second.error, undefined);
      assert.is(s.requests[seen]?.range, `bytes=3000-${BODY.length - 1}`);
      assert.is(s.requests[seen]?.ifRange, s.etag());
      assert.equal(second.consumer.indexes, [0, 1, 2, 3, 4, 5]);
    } finally { t.cleanup(); }
  });
});

test('a torn spool (a byte flipped on disk) costs a refetch of that segment, never a bad byte handed over', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      s.always = { kind: 'cut', afterBytes: 1500 };
      const plan = planFor(BODY, [s.url()], SEGMENT);
      await run(plan, t.dir, { maxAttemptsPerMirror: 2, maxRequestBytes: SEGMENT });
      const spool = readdirSync(t.dir).filter((f) => !f.endsWith('.json')).map((f) => join(t.dir, f));
      assert.is(spool.length, 1, 'one spool file');
      const bytes = readFileSync(spool[0] ?? '');
      bytes[100] = (bytes[100] ?? 0) ^ 0xff;
      writeFileSync(spool[0] ?? '', bytes);
      s.always = undefined;
      const seen = s.requests.length;
      const second = await run(plan, t.dir);
      assert.is(second.error, undefined);
      assert.equal(second.codes, ['DOWNLOAD_HASH_MISMATCH']);
      assert.is(s.requests[seen]?.range, `bytes=3000-${BODY.length - 1}`);
      assert.is(s.requests[seen + 1]?.range, `bytes=0-${BODY.length - 1}`);
      assert.equal(second.consumer.indexes, [0, 1, 2, 3, 4, 5]);
    } finally { t.cleanup(); }
  });
});

test('a restarted process resumes at the checkpointed segment', async () => {
  await withServer({}, async (s) => {
    const t = tempDir();
    try {
      const plan = planFor(BODY, [s.url()], SEGMENT);
      s.faults.push(undefined, { kind: 'status', status: 404 });
      const first = await run(plan, t.dir, { maxRequestBytes: 2 * SEGMENT });
      assert.is(first.error?.code, 'DOWNLOAD_HTTP');
      assert.equal(first.consumer.indexes, [0, 1]);
      const second = await run(plan, t.dir);
      assert.is(s.requests[2]?.range, `bytes=${2 * SEGMENT}-${BODY.length - 1}`);
      assert.equal(second.consumer.indexes, [2, 3, 4, 5]);
    } finally { t.cleanup(); }
  });
});

test.run();
