/**
 * `ota-fleet delta make --from OLD --to NEW --out DELTA` and `ota-fleet delta info DELTA`.
 * Relative paths are relative to the CLI context's cwd (not the process's).
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { printJson, type CliContext, type Register } from '../../../agent/src/cli/index.js';
import { readDeltaFileHeader } from '../../../agent/src/delta/index.js';
import { withContext } from '../../../agent/src/errors/index.js';
import { deltaContainerSizeBytes, hex } from '../../../agent/src/formats/index.js';
import { encodeDelta, OP_KINDS, reportDeltaFile, STRATEGIES, type EncodeOptions } from '../delta/index.js';
import { Progress } from '../release/index.js';

/** Registers `delta make` and `delta info`. */
export const deltaFleetCommand: Register = (y, ctx) =>
  y.command('delta', 'make and inspect update deltas', (yy) => yy
    .command('make', 'make the delta that rebuilds NEW from OLD (without --from: a full image)', (a) => a
      .option('from', { type: 'string', describe: 'the old image' })
      .option('to', { type: 'string', demandOption: true, describe: 'the new image' })
      .option('out', { type: 'string', demandOption: true, describe: 'the delta file to write' })
      .option('files', { type: 'boolean', default: true, describe: 'diff files inside ext4 images (--no-files: blocks only)' })
      .option('pairing', { type: 'boolean', default: true, describe: 'pair renamed files by name and content (--no-pairing: same path only)' })
      .option('match', { type: 'boolean', default: true, describe: 'match the rest by content anywhere in the old image (--no-match: per block only)' })
      .option('exec', { type: 'boolean', default: true, describe: 'diff ARM64 executables against their old version with references re-aimed (--no-exec: as bytes)' }),
    (argv) => make(ctx, argv.from, argv.to, argv.out, { fileAware: argv.files, pairing: argv.pairing, contentMatch: argv.match, execAware: argv.exec }))
    .command('info <delta>', 'print what a delta holds', (a) => a
      .positional('delta', { type: 'string', demandOption: true, describe: 'the delta file' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
    (argv) => info(ctx, argv.delta, argv.json))
    .demandCommand(1, 'name a delta command: make, info'));

async function make(ctx: CliContext, from: string | undefined, to: string, out: string, options: EncodeOptions): Promise<void> {
  const started = Date.now();
  const read = (p: string): Promise<Buffer> => fsp.readFile(resolve(ctx.cwd, p)).catch((err: unknown) => { throw withContext(`read image ${p}`, err); });
  const old = from === undefined ? undefined : await read(from);
  const neu = await read(to);
  // Progress goes to stderr (stdout keeps the summary): one line redrawn on a terminal, start and end lines elsewhere.
  const progress = new Progress(ctx.stderr);
  progress.start(`making ${from === undefined ? 'full image' : 'delta'} ${out}`, neu.length);
  let doneBytes = 0;
  const { delta, stats } = encodeDelta(old, neu, {
    ...options,
    onProgress: (n) => { progress.advance(n - doneBytes); doneBytes = n; },
  });
  progress.done(`${delta.length} bytes`);
  await fsp.writeFile(resolve(ctx.cwd, out), delta).catch((err: unknown) => { throw withContext(`write delta ${out}`, err); });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  ctx.stdout.write([
    `${from === undefined ? 'full image' : 'delta'} ${out}: ${delta.length} bytes in ${stats.segments} segments (${seconds} s)`,
    `  old ${old?.length ?? 0} bytes, new ${neu.length} bytes: ${stats.zeroBytes} zero, ${stats.copyBytes} copied, ${stats.rawBytes} diffed`,
    `  streams before brotli: ops ${stats.streams.opsBytes}, add ${stats.streams.addBytes}, literal ${stats.streams.literalBytes}`,
    ...(stats.files === undefined ? [] : [`  files: ${stats.files.filesDiffed} diffed (${stats.files.pairedByName} paired by name, ${stats.files.pairedByContent} by content), ${stats.files.gzipRebuilt} gzip rebuilt, ${stats.files.bytesCovered} bytes covered`]),
    `  strategies (new bytes): ${STRATEGIES.map((k) => `${k} ${stats.strategies[k]}`).join(', ')}`,
    '',
  ].join('\n'));
}

async function info(ctx: CliContext, path: string, json: boolean): Promise<void> {
  const full = resolve(ctx.cwd, path);
  const h = await readDeltaFileHeader(full);
  const report = await reportDeltaFile(full, h);
  if (json) {
    printJson(ctx, {
      delta: path, formatVersion: h.formatVersion, full: h.full, sizeBytes: deltaContainerSizeBytes(h), headerSha256: hex(h.headerSha256),
      base: { sizeBytes: h.baseSizeBytes, sha256: hex(h.baseSha256) }, target: { sizeBytes: h.targetSizeBytes, sha256: hex(h.targetSha256) },
      segments: h.segments.map((s) => ({ payloadSizeBytes: s.payloadSizeBytes, outputSizeBytes: s.outputSizeBytes, sha256: hex(s.sha256) })),
      strategies: report,
    });
    return;
  }
  const lines = [
    `delta ${path}: format ${h.formatVersion}, ${h.full ? 'full image' : 'delta'}, ${deltaContainerSizeBytes(h)} bytes, header sha256 ${hex(h.headerSha256)}`,
    `  base   ${h.baseSizeBytes} bytes sha256 ${hex(h.baseSha256)}`,
    `  target ${h.targetSizeBytes} bytes sha256 ${hex(h.targetSha256)}`,
    '  strategies: target bytes written, bytes carried that cost (literal, non-zero add; before brotli), ops:',
    ...OP_KINDS.map((k) => `  ${k.padEnd(13)} ${String(report[k].targetBytes).padStart(14)} ${String(report[k].costBytes).padStart(12)} ${String(report[k].ops).padStart(9)}`),
    `  ${h.segments.length} segments:`,
    ...h.segments.map((s, i) => `  ${String(i).padStart(4)} payload ${s.payloadSizeBytes} bytes -> ${s.outputSizeBytes} bytes, sha256 ${hex(s.sha256)}`),
    '',
  ];
  ctx.stdout.write(lines.join('\n'));
}
