/**
 * `ota-agent download --plan PLAN.json --state-dir DIR --out FILE [--cap-kbit N]`:
 * fetch a plan's file into FILE (each verified segment written at its offset and
 * fsynced), resuming from DIR's checkpoint; a progress bar on a terminal, a line
 * per tenth otherwise. For field checks of mirrors and links; the agent itself
 * streams segments into the delta decoder instead of a file.
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext, Register } from './framework.js';
import { OtaError, withContext } from '../errors/index.js';
import { Download } from '../download/index.js';
import { parsePlan } from '../download/index.js';
import type { DownloadProgress } from '../download/index.js';

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

/** One progress line: `[#####-----]  50% 768.0 KiB of 1.5 MiB, 31.2 KiB/s, 0:25 left`. */
export function formatProgress(p: DownloadProgress): string {
  const fraction = p.totalSizeBytes === 0 ? 1 : p.doneBytes / p.totalSizeBytes;
  const filled = Math.round(fraction * 20);
  const eta = p.etaMs === undefined ? '--:--' : `${Math.floor(p.etaMs / 60_000)}:${String(Math.floor(p.etaMs / 1000) % 60).padStart(2, '0')}`;
  return `[${'#'.repeat(filled)}${'-'.repeat(20 - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% `
    + `${size(p.doneBytes)} of ${size(p.totalSizeBytes)}, ${size(p.rateBytesPerSecond)}/s, ${eta} left`;
}

async function readPlan(file: string): Promise<ReturnType<typeof parsePlan>> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw withContext(`download plan ${file}`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OtaError('DOWNLOAD_BAD_PLAN', `download plan ${file}: not JSON (${err instanceof Error ? err.message : String(err)}); pass the plan file`);
  }
  return parsePlan(json);
}

async function fetchToFile(ctx: CliContext, args: { plan: string; stateDir: string; out: string; capKbit: number | undefined }): Promise<void> {
  const plan = await readPlan(resolve(ctx.cwd, args.plan));
  const out = await fsp.open(resolve(ctx.cwd, args.out), 'a+').then(async (fh) => { await fh.close(); return fsp.open(resolve(ctx.cwd, args.out), 'r+'); });
  try {
    const d = new Download({
      plan, stateDir: resolve(ctx.cwd, args.stateDir),
      onSegment: async (index, bytes) => {
        await out.write(bytes, 0, bytes.length, plan.segments[index]?.offsetBytes ?? 0);
        await out.sync();
      },
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      ...(args.capKbit === undefined ? {} : { bandwidthCap: { bytesPerSecond: (args.capKbit * 1000) / 8, burstBytes: 16 * 1024 } }),
    });
    const tty = ctx.stdout.isTTY === true;
    let lastTenth = -1;
    d.on('progress', (p) => {
      const tenth = Math.floor((p.doneBytes * 10) / Math.max(1, p.totalSizeBytes));
      if (tty) ctx.stdout.write(`\r${formatProgress(p)}`);
      else if (tenth !== lastTenth) ctx.stdout.write(`${formatProgress(p)}\n`);
      lastTenth = tenth;
    });
    d.on('retry', (e) => ctx.stderr.write(`${tty ? '\n' : ''}${e.message}${e.delayMs > 0 ? ` (in ${e.delayMs} ms)` : ''}\n`));
    const s = await d.run();
    ctx.stdout.write(`${tty ? '\n' : ''}downloaded ${plan.segments.length - s.startSegment} of ${plan.segments.length} segments (all verified) into ${args.out}: ${s.receivedBytes} bytes received in ${s.requests} requests\n`);
  } finally {
    await out.close();
  }
}

/** Registers `download`. */
export const downloadCommand: Register = (y, ctx) =>
  y.command('download', 'fetch a download plan into a file, resumable, every segment verified', (a) => a
    .option('plan', { type: 'string', demandOption: true, describe: 'plan JSON: {urls, totalSizeBytes, segments: [{offsetBytes, sizeBytes, sha256}]}' })
    .option('state-dir', { type: 'string', demandOption: true, describe: 'directory for the checkpoint (keep it to resume)' })
    .option('out', { type: 'string', demandOption: true, describe: 'file to write' })
    .option('cap-kbit', { type: 'number', describe: 'bandwidth cap in kbit/s' }),
  async (argv) => {
    const capKbit = argv['cap-kbit'];
    if (capKbit !== undefined && !(capKbit > 0)) throw new OtaError('DOWNLOAD_BAD_CAP', `--cap-kbit ${capKbit}: give a positive rate`);
    await fetchToFile(ctx, { plan: argv.plan, stateDir: argv['state-dir'], out: argv.out, capKbit });
  });
