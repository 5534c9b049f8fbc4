import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { HttpSource } from '../../../agent/src/install/index.js';
import type { Artifact } from '../../../agent/src/formats/index.js';
import { ManualClock, planFor, randomBytesSeeded } from '../../support/download.js';
import { RangeServer } from '../../support/range-server.js';
import { until } from '../../support/sim-fleet.js';
import { tempDir } from '../../support/tools.js';

const body = randomBytesSeeded(300_000, 7);
const artifact: Artifact = {
  path: 'file', format: 'raw', sizeBytes: body.length, sha256: createHash('sha256').update(body).digest('hex'),
  segments: planFor(body, ['unused'], 100_000).segments.map((s) => ({ offset: s.offsetBytes, sizeBytes: s.sizeBytes, sha256: s.sha256 })),
};

async function fetchWith(spreadWindowMs: number | undefined, random: number): Promise<{ server: RangeServer; clock: ManualClock; done: Promise<Buffer>; cleanup: () => Promise<void> }> {
  const server = await new RangeServer(body).start();
  const t = tempDir();
  const clock = new ManualClock();
  const source = new HttpSource([server.url('/')], t.dir, { clock, random: () => random });
  const parts: Buffer[] = [];
  const done = source.fetch(artifact, 0, async (_offset, bytes) => { parts.push(bytes); }, new AbortController().signal, spreadWindowMs)
    .then(() => Buffer.concat(parts));
  return { server, clock, done, cleanup: async () => { await server.close(); t.cleanup(); } };
}

test('a fresh download waits its random place in the signed spread window before the first request', async () => {
  const run = await fetchWith(600_000, 0.25);
  try {
    // the download reached its wait: a timer on the manual clock, which only the test moves
    await until(() => run.clock.pending().length > 0, 30_000, 'the spread wait');
    assert.is(run.server.requests.length, 0, 'no request before the spread delay');
    assert.equal(run.clock.pending(), [150_000], 'the delay is random() x the window');
    run.clock.advance(150_000);
    assert.ok((await run.done).equals(body));
    assert.ok(run.server.requests.length >= 1);
  } finally { await run.cleanup(); }
});

test('without a spread window the download starts at once', async () => {
  const run = await fetchWith(undefined, 0.25);
  try {
    assert.ok((await run.done).equals(body));
    assert.ok(run.server.requests.length >= 1);
  } finally { await run.cleanup(); }
});

test.run();
