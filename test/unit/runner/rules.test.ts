/**
 * The test runner's rules (scripts/test-rules.mjs): named skips are collected, a skip without a name and a file
 * that runs nothing fail, and a CI run fails on an unlisted skip or an emulated-ARM suite that did not run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCi, collectSkips, noTestRun, skipBlock } from '../../../scripts/test-rules.mjs';
import { SKIP_MARK } from '../../support/skip.js';
import { tempDir } from '../../support/tools.js';

const line = (name: string, reason: string): string => `${SKIP_MARK}${JSON.stringify({ name, reason })}`;
const t = tempDir('ota-rules-');
test.after(t.cleanup);

test('skips named by test/support/skip.ts are collected with their file; other lines are not', () => {
  const out = ['  ✓ something', line('a | b', 'missing fw_printenv'), '# skipping the thing: x', `${SKIP_MARK}{broken`].join('\n');
  assert.equal(collectSkips('test/unit/x.test.js', out), [{ file: 'test/unit/x.test.ts', name: 'a | b', reason: 'missing fw_printenv' }]);
  assert.match(skipBlock(collectSkips('test/unit/x.test.js', out)), '#   test/unit/x.test.ts | a | b | missing fw_printenv');
  assert.is(skipBlock([]), '# skipped: none');
});

test('a skip uvu counted without a name fails, and so does a file that runs no test and skips none', () => {
  assert.equal(noTestRun(3, 0, 0), []);
  assert.equal(noTestRun(0, 2, 2), [], 'every test skipped by name: listed, not failed');
  assert.match(noTestRun(3, 2, 1).join(), '1 skipped test(s) without a name');
  assert.match(noTestRun(0, 0, 0).join(), 'ran no test');
});

test('CI: an unlisted skip fails; a listed one (file, name and reason) passes', () => {
  mkdirSync(join(t.dir, '.ci'));
  writeFileSync(join(t.dir, '.ci/allowed-skips'), '# comment\n\ntest/a.test.ts | listed | no data here\n');
  const qemuRan = new Map([['test/qemu-arm/boot-ab.test.js', 4]]);
  const base = { root: t.dir, noQemu: false, skipQemu: false, qemuRan, coverageOn: true };
  assert.equal(checkCi({ ...base, skips: [{ file: 'test/a.test.ts', name: 'listed', reason: 'no data here' }] }), []);
  const other = checkCi({ ...base, skips: [{ file: 'test/a.test.ts', name: 'listed', reason: 'missing gzip' }] });
  assert.is(other.length, 1, 'the same test skipped for another reason is not allowed');
  assert.match(other[0] ?? '', 'skip not allowed in CI: test/a.test.ts | listed | missing gzip');
});

test('CI: the emulated-ARM suite must have run, and coverage must be measured', () => {
  const base = { root: t.dir, skips: [], skipQemu: false, coverageOn: true };
  assert.match(checkCi({ ...base, noQemu: true, qemuRan: new Map() }).join(), 'the emulated-ARM suite did not run: --no-qemu');
  assert.match(checkCi({ ...base, noQemu: false, skipQemu: true, qemuRan: new Map([['q', 0]]) }).join(), 'the emulated-ARM suite did not run: OTA_SKIP_QEMU=1');
  assert.match(checkCi({ ...base, noQemu: false, qemuRan: new Map() }).join(), 'the emulated-ARM suite did not run: no test/qemu-arm file');
  assert.match(checkCi({ ...base, noQemu: false, qemuRan: new Map([['test/qemu-arm/boot-ab.test.js', 0]]) }).join(), 'its 1 file(s) ran no test');
  assert.match(checkCi({ ...base, coverageOn: false, noQemu: false, qemuRan: new Map([['q', 1]]) }).join(), 'coverage was not measured');
});

test.run();
