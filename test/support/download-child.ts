/**
 * A downloading process for kill -9 tests and benchmarks: runs the downloader
 * with a file-backed consumer (each verified segment written at its offset and
 * fsynced), printing one line per progress event on stdout.
 * Argument: a JSON object { plan, stateDir, outFile, capBytesPerSecond?, stallTimeoutMs? }.
 */
import { openSync, fsyncSync, writeSync, closeSync } from 'node:fs';
import { Download, parsePlan, type BandwidthCap, type DownloadPlan } from '../../agent/src/download/index.js';
import { describe } from '../../agent/src/errors/index.js';

interface ChildArgs { plan: DownloadPlan; stateDir: string; outFile: string; bandwidthCap: BandwidthCap | undefined; stallTimeoutMs: number }

function parseArgs(text: string | undefined): ChildArgs {
  const v: unknown = JSON.parse(text ?? '');
  if (typeof v !== 'object' || v === null || !('plan' in v) || !('stateDir' in v) || !('outFile' in v)) throw new Error('usage: download-child JSON');
  const { plan, stateDir, outFile } = v;
  if (typeof stateDir !== 'string' || typeof outFile !== 'string') throw new Error('download-child: stateDir and outFile must be strings');
  const cap = 'capBytesPerSecond' in v && typeof v.capBytesPerSecond === 'number' ? v.capBytesPerSecond : undefined;
  const stall = 'stallTimeoutMs' in v && typeof v.stallTimeoutMs === 'number' ? v.stallTimeoutMs : 5000;
  const bandwidthCap = cap === undefined ? undefined : { bytesPerSecond: cap, burstBytes: 16 * 1024 };
  return { plan: parsePlan(plan), stateDir, outFile, bandwidthCap, stallTimeoutMs: stall };
}

const args = parseArgs(process.argv[2]);
const fd = openSync(args.outFile, 'a+');
closeSync(fd);
const out = openSync(args.outFile, 'r+');
const d = new Download({
  plan: args.plan,
  stateDir: args.stateDir,
  backoff: { baseMs: 10, capMs: 200 },
  limits: { stallTimeoutMs: args.stallTimeoutMs, minBytesPerSecond: 0, windowMs: 5000 },
  ...(args.bandwidthCap === undefined ? {} : { bandwidthCap: args.bandwidthCap }),
  onSegment: async (index, bytes) => {
    const seg = args.plan.segments[index];
    writeSync(out, bytes, 0, bytes.length, seg?.offsetBytes ?? 0);
    fsyncSync(out);
  },
});
d.on('progress', (p) => process.stdout.write(`progress ${p.doneBytes} ${p.receivedBytes}\n`));
d.on('retry', (e) => process.stdout.write(`retry ${e.code} ${e.delayMs}\n`));
d.run().then(
  (s) => { process.stdout.write(`done ${s.startSegment} ${s.receivedBytes} ${s.requests}\n`); closeSync(out); },
  (err: unknown) => { process.stdout.write(`error ${describe(err)}\n`); process.exitCode = 1; },
);
