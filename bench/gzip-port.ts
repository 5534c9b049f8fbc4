/**
 * `npm run bench:gzip-port`: speed (MB/s) and peak RSS of our GNU gzip port
 * against `gzip` itself, side by side in one run, on 4 MiB of text: the
 * inflated man pages and changelogs of the benchmark .debs when they are
 * beside the repository (../shared/bench/debs), else synthetic text.
 * Each encoder runs in its own process under /usr/bin/time for its peak RSS;
 * ours also reports the RSS of an idle Node holding the same input, to subtract.
 * Set OTA_GZIP_BENCH_BYTES to change the input size.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { gzipDeflate } from '../agent/src/delta/gzip/index.js';
import { textLike } from '../test/support/gnu-gzip.js';

const self = fileURLToPath(import.meta.url);
const LEVELS = [9, 6, 1];

/** Child mode: `--child LEVEL INPUT OUTPUT`; level 0 only reads the input (idle baseline). */
function child(args: readonly string[]): void {
  const [levelArg, input, output] = args;
  const level = Number(levelArg);
  if (!Number.isInteger(level) || input === undefined || output === undefined) throw new Error('usage: --child LEVEL INPUT OUTPUT');
  const raw = readFileSync(input);
  if (level === 0) { writeFileSync(output, JSON.stringify({ seconds: 0 })); return; }
  const t0 = process.hrtime.bigint();
  const body = gzipDeflate(raw, level);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  writeFileSync(output, body);
  writeFileSync(`${output}.json`, JSON.stringify({ seconds }));
}

function realText(limitBytes: number, dir: string): Buffer | undefined {
  const debsDir = fileURLToPath(new URL('../../../shared/bench/debs/', import.meta.url));
  if (!existsSync(debsDir)) return undefined;
  const parts: Buffer[] = [];
  let size = 0;
  for (const deb of readdirSync(debsDir).filter((f) => f.endsWith('.deb')).sort()) {
    const tar = spawnSync('dpkg-deb', ['--fsys-tarfile', join(debsDir, deb)], { maxBuffer: 512 * 1024 * 1024 });
    if (tar.status !== 0) return undefined;
    const into = join(dir, deb);
    spawnSync('mkdir', ['-p', into]);
    spawnSync('tar', ['-x', '-C', into], { input: tar.stdout });
    const list = spawnSync('find', [into, '-name', '*.gz', '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
    for (const f of list) {
      const text = gunzipSync(readFileSync(f));
      parts.push(text);
      size += text.length;
      if (size >= limitBytes) return Buffer.concat(parts).subarray(0, limitBytes);
    }
  }
  return undefined;
}

interface Row { engine: string; level: number; seconds: number; peakRssKiB: number; outBytes: number; same: string }

function timed(cmd: string, args: readonly string[]): { seconds: number; peakRssKiB: number; stdout: Buffer } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { maxBuffer: 512 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  const lines = r.stderr.toString().trim().split('\n');
  return { seconds, peakRssKiB: Number(lines[lines.length - 1]), stdout: r.stdout };
}

function main(): void {
  const sizeBytes = Number(process.env['OTA_GZIP_BENCH_BYTES'] ?? 4 * 1024 * 1024);
  const dir = mkdtempSync(join(tmpdir(), 'ota-gzip-bench-'));
  try {
    const real = realText(sizeBytes, dir);
    const input = real ?? textLike(sizeBytes, 1);
    const inputFile = join(dir, 'input');
    writeFileSync(inputFile, input);
    console.log(`input: ${input.length} bytes of ${real ? 'man pages and changelogs inflated from ../shared/bench/debs' : 'synthetic text'}`);
    const idle = timed(process.execPath, [self, '--child', '0', inputFile, join(dir, 'idle')]);
    const rows: Row[] = [];
    for (const level of LEVELS) {
      const gnu = timed('gzip', [`-${level}`, '-n', '-c', inputFile]);
      const gnuBody = gnu.stdout.subarray(10, gnu.stdout.length - 8);
      rows.push({ engine: 'gzip 1.12 (C)', level, seconds: gnu.seconds, peakRssKiB: gnu.peakRssKiB, outBytes: gnuBody.length, same: '-' });
      const out = join(dir, `ours-${level}`);
      const ours = timed(process.execPath, [self, '--child', String(level), inputFile, out]);
      const body = readFileSync(out);
      const { seconds } = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { seconds: number };
      rows.push({ engine: 'ours (TypeScript)', level, seconds, peakRssKiB: ours.peakRssKiB, outBytes: body.length, same: body.equals(gnuBody) ? 'yes' : 'NO' });
    }
    const mib = input.length / (1024 * 1024);
    console.log(`idle Node holding the input: peak RSS ${(idle.peakRssKiB / 1024).toFixed(1)} MiB`);
    console.log('engine              level  MB/s   seconds  peak RSS MiB  (ours: above idle)  output bytes  same bytes as gzip');
    for (const r of rows) {
      const above = r.engine.startsWith('ours') ? ((r.peakRssKiB - idle.peakRssKiB) / 1024).toFixed(1).padStart(8) : '       -';
      console.log(`${r.engine.padEnd(20)}${String(r.level).padStart(5)}${(input.length / 1e6 / r.seconds).toFixed(1).padStart(7)}`
        + `${r.seconds.toFixed(3).padStart(10)}${(r.peakRssKiB / 1024).toFixed(1).padStart(14)}${above.padStart(20)}`
        + `${String(r.outBytes).padStart(14)}  ${r.same}`);
    }
    console.log(`(gzip's time includes its process start; ours is the gzipDeflate call alone; ${mib.toFixed(1)} MiB in)`);
    if (rows.some((r) => r.same === 'NO')) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') child(process.argv.slice(3));
else main();
