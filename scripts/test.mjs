#!/usr/bin/env node
// The test command: `npm test [-- FILTER...]`.
// 1. installs what is missing (npm dependencies; Debian packages when root, else names the apt-get line);
// 2. builds the TypeScript (a type error fails the run);
// 3. runs every test file under build/test in its own process (OTA_TEST_JOBS at once, default 2;
//    files marked `ota-test: seconds N` longest first among themselves, and files marked
//    `ota-test: alone` after the others, one at a time), collecting coverage with c8;
//    before them, in a run of every file or in CI, lints (scripts/lint.mjs: a lint error fails the run);
// 4. lists every skipped test by file, name and reason (test/support/skip.ts prints them; a skip it did not
//    print, or a file that runs no test and skips none, fails); checks the coverage floors (runs of every file, and CI)
//    (in CI too) and writes coverage/summary.txt, coverage/coverage-summary.json and coverage/lcov.info;
// 5. ends with one plain line: `N passed, N failed, N skipped`.
// FILTER words select test files whose path contains one of them (e.g. `npm test -- unit bootenv`);
// `--no-qemu` leaves out test/qemu-arm (the daily quick run: `npm run test:quick`).
// In CI (CI=true, as .ci/run): a skip not listed in .ci/allowed-skips fails the run, the emulated-ARM suite
// must have run (not --no-qemu, not OTA_SKIP_QEMU=1, not skipped by its files), and coverage must be measured.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCi, collectSkips, coverageArgs, noTestRun, skipBlock } from './test-rules.mjs';
import { systemDeps } from './system-deps.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const noQemu = args.includes('--no-qemu');
const filters = args.filter((a) => !a.startsWith('--'));
const jobs = Math.max(1, Number(process.env.OTA_TEST_JOBS ?? 2));
const fileTimeoutMs = Number(process.env.OTA_TEST_FILE_TIMEOUT_MS ?? 12 * 60_000);
const ci = process.env.CI === 'true';
const coverageOn = !process.env.OTA_NO_COVERAGE;

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

function haveDep(d) {
  if (d.file) return existsSync(d.file);
  if (d.paths?.some((p) => existsSync(p))) return true;
  return spawnSync('sh', ['-c', `command -v ${d.command}`], { stdio: 'ignore' }).status === 0;
}

function ensureSystemDeps() {
  const missing = [...new Set(systemDeps.filter((d) => !haveDep(d)).map((d) => d.pkg))];
  if (missing.length === 0) return;
  const line = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() === 0) {
    console.log(`# installing Debian packages the tests use: ${missing.join(' ')}`);
    if (run('sh', ['-c', `${line} >/dev/null`], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) === 0) return;
    console.log('# apt-get failed: the tests that need these packages will be skipped');
  } else {
    console.log(`# Debian packages missing (tests that need them are skipped). As root run:\n#   ${line}`);
  }
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return findTests(p);
    // a compiled test whose source is gone (moved or deleted: tsc never removes its output) is not run
    const source = join(root, relative(join(root, 'build'), p)).replace(/\.js$/, '.ts');
    return name.endsWith('.test.js') && existsSync(source) ? [p] : [];
  });
}

function runFile(file, coverageDir) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--enable-source-maps', file], {
      cwd: root,
      env: { ...process.env, NODE_V8_COVERAGE: coverageDir, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b) => { output += b; });
    child.stderr.on('data', (b) => { output += b; });
    // a file that declares its CI time (`ota-test: seconds N`) gets twice that if it is more: a hang is still caught
    const limitMs = Math.max(fileTimeoutMs, 2 * (seconds.get(file) ?? 0) * 1000);
    const timer = setTimeout(() => { output += `\n# timed out after ${limitMs} ms\n`; child.kill('SIGKILL'); }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const endedMs = Date.now();
      resolve({ file, code, signal, output, startedMs: started, endedMs, ms: endedMs - started });
    });
  });
}

// A failed emulated-ARM file leaves its serial consoles in the CI output, one block per boot, for
// every QEMU run it started (each prints `serial log: PATH`); past this many lines in all, the
// earliest boots are named, not printed (the failure is usually at the end).
const consoleLinesMax = Number(process.env.OTA_TEST_CONSOLE_LINES ?? 30_000);

function serialConsoles(output) {
  const logs = [...new Set([...output.matchAll(/serial log: (\S+\/serial\.log)/g)].map((m) => m[1]))];
  const blocks = logs.flatMap((log) => {
    const dir = dirname(log);
    if (!existsSync(dir)) return [];
    const boots = readdirSync(dir).filter((n) => /^boot-\d+\.log$/.test(n)).sort((a, b) => Number(a.slice(5, -4)) - Number(b.slice(5, -4)));
    return boots.map((name) => ({ name: relative(root, join(dir, name)), lines: readFileSync(join(dir, name), 'utf8').split('\n') }));
  });
  let budget = consoleLinesMax;
  const shown = new Set();
  for (const b of [...blocks].reverse()) {
    if (b.lines.length > budget) break;
    budget -= b.lines.length;
    shown.add(b);
  }
  return blocks.flatMap((b) => (shown.has(b)
    ? [`--- serial console ${b.name} ---`, ...b.lines]
    : [`--- serial console ${b.name}: ${b.lines.length} lines, not printed (OTA_TEST_CONSOLE_LINES) ---`])).join('\n');
}

function countsOf(result) {
  const num = (label) => {
    const m = new RegExp(`${label}:\\s+(\\d+)`).exec(result.output);
    return m ? Number(m[1]) : undefined;
  };
  const total = num('Total'), passed = num('Passed'), skipped = num('Skipped') ?? 0;
  if (total === undefined || passed === undefined) return { passed: 0, failed: 1, skipped: 0, problems: [] }; // crashed before its summary
  const problems = noTestRun(total, skipped, collectSkips('', result.output).length);
  const failed = total - passed + (result.code !== 0 && total === passed ? 1 : 0) + problems.length;
  return { passed, failed, skipped, problems };
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) process.exit(1);
}
ensureSystemDeps();
console.log('# building');
const typeErrors = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']) !== 0;
if (typeErrors && filters.length === 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
if (filters.length === 0 || ci) {
  console.log('# linting (npm run lint)');
  if (run(process.execPath, [join(root, 'scripts/lint.mjs')]) !== 0) {
    console.log('# lint errors above: the run stops here (fix them, or run one file: npm test -- WORD)');
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
}
if (typeErrors) console.log('# type errors above; running the selected tests anyway (a full run fails on them)');
// The folder layout (scripts/check-imports.mjs, which prints what it finds): an import cycle between
// folders or fleet code in device code fails a full run, as a type error does.
if (run(process.execPath, [join(root, 'scripts', 'check-imports.mjs')]) !== 0 && filters.length === 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const all = findTests(join(root, 'build', 'test'));
const selected = all.filter((f) => {
  const rel = relative(join(root, 'build'), f);
  if (noQemu && rel.includes('qemu-arm')) return false;
  return filters.length === 0 || filters.some((w) => rel.includes(w));
});
const coverageDir = mkdtempSync(join(tmpdir(), 'ota-cov-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
/** Every named skip: `{ file, name, reason }`. */
const skips = [];
/** Per emulated-ARM file: the tests it ran. */
const qemuRan = new Map();
// A file marked `ota-test: alone` runs after the others, with the machine to itself: its figure is a byte
// count that depends on scheduling (download/kill: bytes sitting in a killed client's socket buffers count as
// sent, and another test's fsyncs stall the client so those buffers fill).
const aloneFiles = new Set(selected.filter((f) => readFileSync(f, 'utf8').includes('ota-test: alone')));
// Files marked `ota-test: seconds N` (the emulated-ARM ones: N is about their time in CI) start longest first,
// in the places those files hold in the queue: two long files no longer end the run one after the other.
const seconds = new Map(selected.flatMap((f) => {
  const m = /ota-test: seconds (\d+)/.exec(readFileSync(f, 'utf8'));
  return m ? [[f, Number(m[1])]] : [];
}));
const queue = selected.filter((f) => !aloneFiles.has(f));
const timed = queue.filter((f) => seconds.has(f)).sort((a, b) => seconds.get(b) - seconds.get(a));
for (let k = 0, t = 0; k < queue.length; k++) if (seconds.has(queue[k])) queue[k] = timed[t++];
const last = [...aloneFiles];
const runStartedMs = Date.now();
// wall time of the emulated-ARM suite, first start to last end (its budget is 20 minutes on CI's 2 cores)
const qemuSpan = { startedMs: Infinity, endedMs: -Infinity };
async function runAndReport(file) {
  const result = await runFile(file, coverageDir);
  if (file.includes('qemu-arm')) {
    qemuSpan.startedMs = Math.min(qemuSpan.startedMs, result.startedMs);
    qemuSpan.endedMs = Math.max(qemuSpan.endedMs, result.endedMs);
  }
  const c = countsOf(result);
  totals.passed += c.passed; totals.failed += c.failed; totals.skipped += c.skipped;
  const name = relative(join(root, 'build'), file);
  skips.push(...collectSkips(name, result.output));
  if (file.includes('qemu-arm')) qemuRan.set(name, c.passed + c.failed);
  for (const p of c.problems) result.output += `\n# ${p}`;
  const verdict = c.failed > 0 ? 'FAIL' : 'ok';
  console.log(`# ${verdict} ${name} (${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped, ${(result.ms / 1000).toFixed(1)} s${aloneFiles.has(file) ? ', alone' : ''})`);
  if (c.failed > 0 || process.env.OTA_TEST_VERBOSE) console.log(result.output.replace(/^/gm, '    '));
  if (c.failed > 0) console.log(serialConsoles(result.output).replace(/^/gm, '    '));
}
async function worker() {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runAndReport(file);
}
await Promise.all(Array.from({ length: jobs }, worker));
for (const file of last) await runAndReport(file);
const qemuWall = qemuSpan.endedMs > qemuSpan.startedMs ? `; test/qemu-arm ${((qemuSpan.endedMs - qemuSpan.startedMs) / 1000).toFixed(0)} s of it` : '';
console.log(`# ${selected.length} files in ${((Date.now() - runStartedMs) / 1000).toFixed(0)} s on ${jobs} jobs${qemuWall}`);

const broken = [];
if (coverageOn) {
  // Floors for a run of every file (with or without the emulated-ARM suite) and always in CI: a filtered run
  // covers less, and only fails for it in CI, which must run every file.
  const checked = filters.length === 0 || ci;
  const c8 = spawnSync(process.execPath, [join(root, 'node_modules/c8/bin/c8.js'), ...coverageArgs(root, coverageDir, checked)], { cwd: root, encoding: 'utf8' });
  const report = `${c8.stdout ?? ''}${c8.stderr ?? ''}`;
  process.stdout.write(report);
  mkdirSync(join(root, 'coverage'), { recursive: true });
  writeFileSync(join(root, 'coverage', 'summary.txt'), report);
  const status = c8.status ?? 1;
  if (status !== 0) broken.push(`coverage below its floor (the ERROR lines above; report in coverage/summary.txt): add tests, never lower the floor in scripts/test-rules.mjs to pass`);
  else console.log(`# coverage report: coverage/summary.txt, coverage/coverage-summary.json, coverage/lcov.info${checked ? '' : ' (floors not checked: filtered run)'}`);
}
rmSync(coverageDir, { recursive: true, force: true });
if (ci) broken.push(...checkCi({ root, noQemu, skipQemu: process.env.OTA_SKIP_QEMU === '1', skips, qemuRan, coverageOn }));
if (selected.length === 0) broken.push(`no test file matches ${filters.join(' ')}`);
console.log(skipBlock(skips));
for (const b of broken) console.log(`# FAIL ${b}`);
totals.failed += broken.length;
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
