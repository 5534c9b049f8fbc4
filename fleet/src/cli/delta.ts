/**
 * `ota-fleet delta make --from OLD --to NEW --out DELTA` and `ota-fleet delta info DELTA`.
 * Relative paths are relative to the CLI context's cwd (not the process's).
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { CliContext, Register } from '../../../agent/src/cli/index.js';
import { readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import { withContext } from '../../../agent/src/errors/index.js';
import { deltaContainerSizeBytes, hex } from '../../../agent/src/formats/index.js';
import { encodeDelta } from '../delta/index.js';
import { Progress } from '../release/index.js';

/** Registers `delta make` and `delta info`. */
export const deltaFleetCommand: Register = (y, ctx) =>
  y.command('delta', 'make and inspect update deltas', (yy) => yy
    .command('make', 'make the delta that rebuilds NEW from OLD (without --from: a full image)', (a) => a
      .option('from', { type: 'string', describe: 'the old image' })
      .option('to', { type: 'string', demandOption: true, describe: 'the new image' })
      .option('out', { type: 'string', demandOption: true, describe: 'the delta file to write' })
      .option('files', { type: 'boolean', default: true, describe: 'diff files inside ext4 images (--no-files: blocks only)' }),
    (argv) => make(ctx, argv.from, argv.to, argv.out, argv.files))
    .command('info <delta>', 'print what a delta holds', (a) => a
      .positional('delta', { type: 'string', demandOption: true, describe: 'the delta file' }),
    (argv) => info(ctx, argv.delta))
    .demandCommand(1, 'name a delta command: make, info'));

async function make(ctx: CliContext, from: string | undefined, to: string, out: string, files: boolean): Promise<void> {
  const started = Date.now();
  const read = (p: string): Promise<Buffer> => fsp.readFile(resolve(ctx.cwd, p)).catch((err: unknown) => { throw withContext(`read image ${p}`, err); });
  const old = from === undefined ? undefined : await read(from);
  const neu = await read(to);
  // Progress goes to stderr (stdout keeps the summary): one line redrawn on a terminal, start and end lines elsewhere.
  const progress = new Progress(ctx.stderr);
  progress.start(`making ${from === undefined ? 'full image' : 'delta'} ${out}`, neu.length);
  let doneBytes = 0;
  const { delta, stats } = encodeDelta(old, neu, {
    fileAware: files,
    onProgress: (n) => { progress.advance(n - doneBytes); doneBytes = n; },
  });
  progress.done(`${delta.length} bytes`);
  await fsp.writeFile(resolve(ctx.cwd, out), delta).catch((err: unknown) => { throw withContext(`write delta ${out}`, err); });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  ctx.stdout.write([
    `${from === undefined ? 'full image' : 'delta'} ${out}: ${delta.length} bytes in ${stats.segments} segments (${seconds} s)`,
    `  old ${old?.length ?? 0} bytes, new ${neu.length} bytes: ${stats.zeroBytes} zero, ${stats.copyBytes} copied, ${stats.rawBytes} diffed`,
    `  streams before brotli: ops ${stats.streams.opsBytes}, add ${stats.streams.addBytes}, literal ${stats.streams.literalBytes}`,
    ...(stats.files === undefined ? [] : [`  files: ${stats.files.filesDiffed} diffed, ${stats.files.gzipRebuilt} gzip rebuilt, ${stats.files.bytesCovered} bytes covered`]),
    '',
  ].join('\n'));
}

async function info(ctx: CliContext, path: string): Promise<void> {
  const h = await readDeltaFileHeader(resolve(ctx.cwd, path));
  const lines = [
    `delta ${path}: format ${h.formatVersion}, ${h.full ? 'full image' : 'delta'}, ${deltaContainerSizeBytes(h)} bytes, header sha256 ${hex(h.headerSha256)}`,
    `  base   ${h.baseSizeBytes} bytes sha256 ${hex(h.baseSha256)}`,
    `  target ${h.targetSizeBytes} bytes sha256 ${hex(h.targetSha256)}`,
    `  ${h.segments.length} segments:`,
    ...h.segments.map((s, i) => `  ${String(i).padStart(4)} payload ${s.payloadSizeBytes} bytes -> ${s.outputSizeBytes} bytes, sha256 ${hex(s.sha256)}`),
    '',
  ];
  ctx.stdout.write(lines.join('\n'));
}
