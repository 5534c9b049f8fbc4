/**
 * kill -9 of the downloading process at 20 random points (seeded, printed):
 * each restart resumes from the checkpoint (and the spooled prefix of the
 * current segment), the output file ends with the right hash, and the server
 * sent at most 1.05 x the file size in body bytes.
 * ota-test: alone. The server counts the bytes it hands to the kernel, so what sits in the killed
 * client's socket buffers counts as sent. Another test's fsyncs stall the client at its segment
 * handovers, and those buffers fill: the runner runs this file after the others, by itself.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DownloadPlan } from '../../../agent/src/download/index.js';
import { RangeServer } from '../../support/range-server.js';
import { planFor, randomBytesSeeded, seededRandom } from '../../support/download.js';
import { runSeed } from '../../support/prng.js';
import { tempDir } from '../../support/tools.js';

const CHILD = fileURLToPath(new URL('../../support/download-child.js', import.meta.url));
const SIZE = 4 * 1024 * 1024;
const SEGMENT = 256 * 1024;
const LINK_BYTES_PER_SECOND = 512 * 1024; // the link (server pacing): 8 s of transfer, killable anywhere
const KILLS = 20;
const SEED = runSeed('OTA_KILL_SEED');

/** Run the child; kill -9 it once its verified-or-spooled bytes reach `killAtBytes` (never, when undefined). */
function runChild(args: object, killAtBytes: number | undefined): Promise<{ killed: boolean; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buffered = '';
    let killed = false;
    child.stdout.on('data', (b: Buffer) => {
      buffered += b.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const m = /^progress (\d+)/.exec(line);
        if (!killed && killAtBytes !== undefined && m !== null && Number(m[1]) >= killAtBytes) { killed = child.kill('SIGKILL'); }
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve({ killed, lines }));
  });
}

/** Where the next run must start: checkpointed segment plus the spooled prefix of the current one. */
function expectedStart(plan: DownloadPlan, stateDir: string): number {
  const cp = join(stateDir, 'download.json');
  const next = existsSync(cp) ? Number(JSON.parse(readFileSync(cp, 'utf8')).nextSegment) : 0;
  const seg = plan.segments[next];
  if (seg === undefined) return plan.totalSizeBytes;
  const meta = join(stateDir, 'download.spool.json');
  const spooled = existsSync(meta) && JSON.parse(readFileSync(meta, 'utf8')).segment === next
    ? readFileSync(join(stateDir, 'download.spool')).length : 0;
  return seg.offsetBytes + spooled;
}

test(`kill -9 at ${KILLS} random points: resumes from the checkpoint, right hash, <= 1.05 x bytes sent`, async () => {
  const body = randomBytesSeeded(SIZE, 7);
  const server = await new RangeServer(body, { paceBytesPerSecond: LINK_BYTES_PER_SECOND }).start();
  const t = tempDir('ota-kill-');
  try {
    const random = seededRandom(SEED);
    const points = Array.from({ length: KILLS }, () => Math.floor(random() * SIZE)).sort((a, b) => a - b);
    console.log(`# kill points: ${points.join(' ')}`);
    const plan = planFor(body, [server.url()], SEGMENT);
    const args = { plan, stateDir: t.dir, outFile: join(t.dir, 'slot.img') };
    let kills = 0;
    let lastStart = 0;
    // per run: bytes the server sent that did not end up checkpointed or spooled (for the report)
    const runs: { start: number; point: number | undefined; sent: number; waste: number; last: string }[] = [];
    for (const point of [...points, undefined]) {
      const start = expectedStart(plan, t.dir);
      assert.ok(start >= lastStart, 'progress is never lost');
      lastStart = start;
      const seen = server.requests.length;
      const sentBefore = server.bodyBytesSent;
      const run = await runChild(args, point);
      const progressLines = run.lines.filter((l) => l.startsWith('progress'));
      const sent = server.bodyBytesSent - sentBefore;
      const waste = sent - (expectedStart(plan, t.dir) - start);
      runs.push({ start, point, sent, waste, last: progressLines[progressLines.length - 1] ?? '-' });
      if (process.env['OTA_KILL_DEBUG'] !== undefined) console.log(`# run: start ${start} point ${point} sent ${sent} next ${expectedStart(plan, t.dir)} waste ${waste} last ${progressLines[progressLines.length - 1]}`);
      if (run.killed) kills += 1;
      const first = server.requests[seen];
      if (first !== undefined) assert.is(first.range, `bytes=${start}-${Math.min(start - (start % SEGMENT) + 16 * 1024 * 1024, SIZE) - 1}`);
      if (first !== undefined && start % SEGMENT !== 0) assert.is(first.ifRange, server.etag(), 'mid-segment resume sends If-Range');
      if (point === undefined) assert.ok(run.lines.some((l) => l.startsWith('done')), run.lines.slice(-3).join('\n'));
    }
    const out = readFileSync(args.outFile);
    assert.is(createHash('sha256').update(out).digest('hex'), createHash('sha256').update(body).digest('hex'));
    const ratio = server.bodyBytesSent / SIZE;
    console.log(`# kills ${kills}, requests ${server.requests.length}, body bytes sent ${server.bodyBytesSent} for ${SIZE}: ${ratio.toFixed(3)} x`);
    assert.ok(kills >= KILLS - 2, `seed ${SEED}: only ${kills} kills landed before the download finished`);
    const worst = [...runs].sort((a, b) => b.waste - a.waste).slice(0, 3)
      .map((r) => `start ${r.start} kill at ${String(r.point)}: sent ${r.sent}, ${r.waste} not kept (last line: ${r.last})`);
    assert.ok(ratio <= 1.05, `seed ${SEED}: sent ${ratio.toFixed(3)} x the size; the runs that lost most:\n${worst.join('\n')}`);
  } finally {
    await server.close();
    t.cleanup();
  }
});

test.run();
