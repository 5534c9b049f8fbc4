/**
 * The downloader through the TCP proxy on 127.0.0.1 (latency, a cut of the
 * connection itself rather than of the HTTP body), and its progress events.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Download, type DownloadProgress } from '../../../agent/src/download/index.js';
import { RangeServer } from '../../support/range-server.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { checkingConsumer, planFor, randomBytesSeeded } from '../../support/download.js';
import { tempDir } from '../../support/tools.js';

const BODY = randomBytesSeeded(512 * 1024, 11);
const CUT_AT_BYTES = 300_000;

test('through a proxy with 5 ms latency, cut once: resumes, every byte counted once, progress reaches the total', async () => {
  const server = await new RangeServer(BODY, { paceBytesPerSecond: 1024 * 1024 }).start();
  const port = Number(new URL(server.url()).port);
  // the proxy cuts in its own data path, so the cut lands mid-body however late the client's events run under load
  const proxy = await new TcpProxy({ targetHost: '127.0.0.1', targetPort: port, latencyMs: 5, cutAtBytesDown: CUT_AT_BYTES }).start();
  const t = tempDir();
  try {
    const plan = planFor(BODY, [`http://${proxy.address()}/file`], 64 * 1024);
    const consumer = checkingConsumer(BODY, plan);
    const d = new Download({ plan, stateDir: t.dir, onSegment: consumer.onSegment, backoff: { baseMs: 1, capMs: 5 } });
    const progress: DownloadProgress[] = [];
    d.on('progress', (p) => { progress.push(p); });
    const summary = await d.run();
    assert.equal(consumer.unverified, []);
    assert.equal(consumer.indexes, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.is(summary.requests, 2);
    assert.is(proxy.cuts, 1);
    const resumedAt = Number(/^bytes=(\d+)-/.exec(server.requests[1]?.range ?? '')?.[1]);
    assert.ok(resumedAt > 200_000 && resumedAt < BODY.length, `resumed at ${resumedAt}`);
    assert.is(server.requests[1]?.ifRange, server.etag());
    // after the cut, the resumed request fetched the rest of the body from where it resumed, and nothing more than
    // its response's headers (what the proxy read before the cut depends on timing: chunks in flight are dropped)
    const cutAt = proxy.bytesDownAtCut ?? 0;
    assert.ok(cutAt >= CUT_AT_BYTES, `cut after ${cutAt} bytes`);
    const after = proxy.bytesDown - cutAt;
    assert.ok(after >= BODY.length - resumedAt && after <= BODY.length - resumedAt + 1024, `after the cut the proxy carried ${after} bytes, resumed at ${resumedAt}`);
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.doneBytes ?? 0) >= (progress[i - 1]?.doneBytes ?? 0), 'doneBytes never goes back');
    const last = progress[progress.length - 1];
    assert.is(last?.doneBytes, BODY.length);
    assert.is(last?.totalSizeBytes, BODY.length);
    assert.ok(progress.some((p) => p.rateBytesPerSecond > 0 && p.etaMs !== undefined), 'rate and ETA are reported');
  } finally {
    t.cleanup();
    await proxy.close();
    await server.close();
  }
});

test.run();
