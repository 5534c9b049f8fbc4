// The rules that make a green run mean the tests ran, for scripts/test.mjs: named skips, files that
// run nothing, CI's allowed skips and emulated-ARM suite, and the coverage floors.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Coverage floors (percent, agent/src and fleet/src, every file counted: c8 --all) of a run of every file without
 * the emulated-ARM suite (`npm run test:quick`), a little under what it measured on 2026-12-07 (lines 97.15,
 * branches 88.01, functions 97.18); the full run (with QEMU) covers more. A drop below one fails the run: add
 * tests, never lower a floor to pass.
 */
export const COVERAGE_FLOORS = { lines: 96, branches: 87, functions: 96 };

/** The line test/support/skip.ts prints for a skipped test. */
const SKIP_LINE = /^# ota-skip (\{.*\})$/gm;

/** The test file's source path for a built file's (`test/x.test.js` -> `test/x.test.ts`). */
function sourceOf(file) {
  return file.replace(/\.js$/, '.ts');
}

/** The named skips a test file printed: `{ file, name, reason }`. */
export function collectSkips(file, output) {
  return [...output.matchAll(SKIP_LINE)].flatMap((m) => {
    try {
      const { name, reason } = JSON.parse(m[1]);
      return typeof name === 'string' && typeof reason === 'string' ? [{ file: sourceOf(file), name, reason }] : [];
    } catch {
      return [];
    }
  });
}

/** Why a file's counts are not a pass on their own: skips it did not name, or no test at all. */
export function noTestRun(total, skipped, named) {
  const problems = [];
  if (skipped > named) problems.push(`${skipped - named} skipped test(s) without a name and reason: skip through test/support/skip.ts (gate, gateIn)`);
  if (total === 0 && skipped === 0) problems.push('the file ran no test and skipped none: a test file must run at least one');
  return problems;
}

/** The block listing every skip, printed before the final line. */
export function skipBlock(skips) {
  if (skips.length === 0) return '# skipped: none';
  return [`# skipped (${skips.length}):`, ...skips.map((s) => `#   ${s.file} | ${s.name} | ${s.reason}`)].join('\n');
}

/** The entries of .ci/allowed-skips: `FILE | TEST NAME | REASON` per line; `#` starts a comment. */
export function allowedSkips(root) {
  const path = join(root, '.ci', 'allowed-skips');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const [file = '', name = '', reason = ''] = l.split(' | ').map((p) => p.trim());
    return { file, name, reason };
  });
}

/** What makes a CI run fail although every test that ran passed; one line each. */
export function checkCi({ root, noQemu, skipQemu, skips, qemuRan, coverageOn }) {
  const broken = [];
  const allowed = allowedSkips(root);
  for (const s of skips) {
    const ok = allowed.some((a) => a.file === s.file && a.name === s.name && a.reason === s.reason);
    if (!ok) broken.push(`skip not allowed in CI: ${s.file} | ${s.name} | ${s.reason} (make it run, or list it with its reason in .ci/allowed-skips)`);
  }
  const qemuTests = [...qemuRan.values()].reduce((a, b) => a + b, 0);
  if (noQemu) broken.push('the emulated-ARM suite did not run: --no-qemu is not allowed in CI');
  else if (skipQemu) broken.push('the emulated-ARM suite did not run: OTA_SKIP_QEMU=1 is not allowed in CI');
  else if (qemuRan.size === 0) broken.push('the emulated-ARM suite did not run: no test/qemu-arm file was selected');
  else if (qemuTests === 0) broken.push(`the emulated-ARM suite did not run: its ${qemuRan.size} file(s) ran no test (see the skips above)`);
  if (!coverageOn) broken.push('coverage was not measured: OTA_NO_COVERAGE is not allowed in CI');
  return broken;
}

/** c8's arguments: reports in coverage/ (text summary, JSON summary, lcov), floors when `checked`. */
export function coverageArgs(root, tempDir, checked) {
  const floors = checked
    ? ['--check-coverage', `--lines=${COVERAGE_FLOORS.lines}`, `--branches=${COVERAGE_FLOORS.branches}`, `--functions=${COVERAGE_FLOORS.functions}`]
    : [];
  return ['report', '--temp-directory', tempDir, '--src', root, '--all', '--include=build/agent/**', '--include=build/fleet/**',
    '--reports-dir', join(root, 'coverage'), '--reporter=text-summary', '--reporter=json-summary', '--reporter=lcovonly', ...floors];
}
