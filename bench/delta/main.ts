/**
 * `npm run bench:delta [-- --quick] [-- --pair NAME]`: our delta side by side with
 * bsdiff, xdelta3, zstd --patch-from, casync and full images on a real image pair
 * (built when missing: `kernel-abi` by bench/make-kernel-pair.sh, the others by
 * ../shared/bench/make-pair.sh): size, make time and peak RSS, apply time and peak
 * RSS (/usr/bin/time -v), every apply checked against B.
 * Prints a table and writes bench/results/delta-PAIR.json.
 * --quick: the 32 MiB smoke pair and the fast anchors only (for iteration).
 * --ours-only: our two rows only (the kernel-abi anchors take about two hours here;
 * their sizes depend only on the pair's bytes, so a run of them stays valid).
 * OTA_BENCH_DATA: where the pairs are (default bench-data/ in the repo);
 * OTA_BENCH_WORK: where the artefacts go (default PAIR/work beside the images).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anchors, DEVICE_AGENT, prepareNonZero, type Anchor } from './anchors.js';
import { has, sameFile, sizeOf, timed, type Run } from './measure.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const oursOnly = args.includes('--ours-only');
const pairArg = args.indexOf('--pair');
const pair = pairArg >= 0 ? (args[pairArg + 1] ?? 'security-fix') : quick ? 'smoke' : 'security-fix';

interface Row { name: string; sizeBytes: number; make: Run; apply: Run; verified: boolean; note?: string }

const data = process.env['OTA_BENCH_DATA'] ?? join(root, 'bench-data');

function ensurePair(): string {
  const dir = join(data, pair);
  if (!existsSync(join(dir, 'A.img')) || !existsSync(join(dir, 'B.img'))) {
    const script = pair === 'kernel-abi' ? join(root, 'bench', 'make-kernel-pair.sh') : join(root, '..', 'shared', 'bench', 'make-pair.sh');
    console.log(`# building the ${pair} pair with ${script}`);
    const r = spawnSync('bash', [script, pair], { cwd: root, stdio: 'inherit', env: { ...process.env, OUT: data } });
    if (r.status !== 0) throw new Error(`${script} ${pair} failed`);
  }
  return dir;
}

function runAnchor(a: Anchor, env: Record<string, string>, work: string): Row {
  const D = join(work, `${a.name.replace(/[^a-z0-9]+/gi, '_')}.out`);
  const O = join(work, 'apply.img');
  const vars = { ...env, D, O };
  console.log(`# ${a.name}: make`);
  const make = timed([a.make], { shell: true, env: vars });
  const sizeBytes = sizeOf(a.artefact.replace('$W', work).replace('$D', D));
  console.log(`# ${a.name}: ${sizeBytes} bytes; apply`);
  const apply = timed([a.apply], { shell: true, env: vars });
  const verified = a.name.startsWith('bsdiff') ? sameFile(`${O}.nz`, join(work, 'B.nz')) : sameFile(O, env['B'] ?? '');
  rmSync(O, { force: true });
  rmSync(`${O}.nz`, { force: true });
  return { name: a.name, sizeBytes, make, apply, verified, ...(a.note === undefined ? {} : { note: a.note }) };
}

function main(): void {
  const dir = ensurePair();
  const work = process.env['OTA_BENCH_WORK'] ?? join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const env = { A: join(dir, 'A.img'), B: join(dir, 'B.img'), W: work };
  const pairJson: unknown = JSON.parse(readFileSync(join(dir, 'pair.json'), 'utf8'));
  const aptBytes = typeof pairJson === 'object' && pairJson !== null ? Number(Reflect.get(pairJson, 'apt_reference_bytes')) : NaN;
  const chosen = anchors.filter((a) => (!quick || a.quick) && (!oursOnly || a.name.startsWith('ota-agent')) && a.tools.every(has));
  if (chosen.some((a) => a.name.startsWith('bsdiff'))) {
    prepareNonZero(env.A, env.B, work);
    spawnSync('xz', ['-9', '-f', '-k', join(work, 'B.zmap')]);
  }
  // The second row of ours copies the first's delta (its make figures are a cp).
  const rows = chosen.map((a) => runAnchor(a, env, work));
  const sha256sum = timed(['sha256sum', env.B]);
  const idle = timed([`${DEVICE_AGENT} version`], { shell: true });
  report(rows, sha256sum, idle, aptBytes);
}

function report(rows: Row[], sha256sum: Run, idle: Run, aptBytes: number): void {
  const MiB = 1024 * 1024;
  const ours = rows[0];
  if (ours === undefined) throw new Error('no rows');
  const deltaAnchors = rows.filter((r) => /bsdiff|xdelta3|patch-from/.test(r.name));
  const smallest = Math.min(...deltaAnchors.map((r) => r.sizeBytes));
  const fastestApply = Math.min(...rows.filter((r) => !r.name.startsWith('ota-agent')).map((r) => r.apply.seconds));
  console.log(`\n${pair}: ${quick ? 'quick run' : 'full run'}\n`);
  console.log(`| tool | size (bytes) | x ours | make s | make peak RSS MiB | apply s | apply peak RSS MiB | output checked |`);
  console.log(`|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.sizeBytes.toLocaleString('en')} | ${(r.sizeBytes / ours.sizeBytes).toFixed(2)} | ${r.make.seconds.toFixed(1)} | ${(r.make.peakRssBytes / MiB).toFixed(0)} | ${r.apply.seconds.toFixed(2)} | ${(r.apply.peakRssBytes / MiB).toFixed(0)} | ${r.verified ? 'yes' : 'NO'} |`);
  }
  console.log(`| apt (changed .debs) | ${aptBytes.toLocaleString('en')} | ${(aptBytes / ours.sizeBytes).toFixed(2)} | | | | | |`);
  const summary = {
    oursOverSmallestDeltaAnchor: smallest === Infinity ? null : ours.sizeBytes / smallest,
    applyPeakRssGrowthBytes: ours.apply.peakRssBytes - idle.peakRssBytes,
    agentIdlePeakRssBytes: idle.peakRssBytes,
    applySecondsOverBound: fastestApply === Infinity ? null : ours.apply.seconds / (2 * (fastestApply + sha256sum.seconds)),
    sha256sumSeconds: sha256sum.seconds,
  };
  console.log(`\nours / smallest of bsdiff, xdelta3, zstd --patch-from: ${summary.oursOverSmallestDeltaAnchor?.toFixed(3) ?? 'n/a'} (goal <= 0.25)`);
  console.log(`apply peak RSS growth over the idle agent: ${(summary.applyPeakRssGrowthBytes / MiB).toFixed(1)} MiB (goal <= 16)`);
  console.log(`apply time / (2 x (fastest anchor apply + sha256sum ${sha256sum.seconds.toFixed(2)} s)): ${summary.applySecondsOverBound?.toFixed(2) ?? 'n/a'} (goal <= 1)`);
  const out = join(root, 'bench', 'results', `delta-${pair}${quick ? '-quick' : ''}${oursOnly ? '-ours' : ''}.json`);
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ pair, quick, node: process.version, rows, aptBytes, summary }, null, 1)}\n`);
  console.log(`written: bench/results/${out.split('/').pop() ?? ''}`);
}

main();
