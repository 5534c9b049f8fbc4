/**
 * The fleet never signs what every device refuses: each release, rollout and
 * notice goes through the device's own reader before a key signs it, and a
 * refused one writes nothing (no release directory, no notice, no rollout
 * version used up).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { runMain, tempDir } from '../../support/tools.js';
import { snapshot } from '../../support/trust.js';

const now = new Date('2030-01-01T00:00:00Z');

test('release and rollout refuse an audience or hardware the device would refuse, before signing or writing', async () => {
  const { dir, cleanup } = tempDir('ota-devcheck-');
  try {
    writeFileSync(join(dir, 'img.bin'), Buffer.alloc(4096, 7));
    assert.is((await runMain(fleet, ['keygen', '--out', 'KEYS'], { cwd: dir, now })).code, 0);
    const release = ['release', '--image', 'img.bin', '--version', '3', '--keys', 'KEYS', '--out', 'R'];
    const badTargets: string[][] = [
      ['--device', 'dev X'], ['--device', 'a/b'], ['--device', 'd1', '--device', 'd1'], ['--cohort', ''], ['--cohort', 'x'.repeat(129)],
    ];
    for (const extra of badTargets) {
      const before = snapshot(dir);
      const r = await runMain(fleet, [...release, '--hardware', 'hw-a', ...extra], { cwd: dir, now });
      assert.is(r.code, 1, extra.join(' '));
      assert.match(r.stderr, /every device would refuse .*\[ROLLOUT_INVALID\]\n$/, extra.join(' '));
      assert.is(r.stderr.split('\n').length, 2, 'one line');
      assert.equal(snapshot(dir), before, `${extra.join(' ')}: something was written`);
    }
    const hw = await runMain(fleet, [...release, '--hardware', 'hw a'], { cwd: dir, now });
    assert.is(hw.code, 1);
    assert.match(hw.stderr, /\[RELEASE_INVALID\]\n$/);
    assert.not.ok(existsSync(join(dir, 'R/release.json')), 'a refused release was written');

    // An existing release: `rollout` refuses the same audiences, writes nothing and uses up no rollout version.
    assert.is((await runMain(fleet, [...release.slice(0, -1), 'R2', '--hardware', 'hw-a'], { cwd: dir, now })).code, 0);
    const counter = readFileSync(join(dir, 'KEYS/rollout.json'), 'utf8');
    for (const extra of badTargets) {
      const before = snapshot(dir);
      const r = await runMain(fleet, ['rollout', '--release', 'R2', '--keys', 'KEYS', ...extra], { cwd: dir, now });
      assert.is(r.code, 1, extra.join(' '));
      assert.match(r.stderr, /every device would refuse .*\[ROLLOUT_INVALID\]\n$/, extra.join(' '));
      assert.equal(snapshot(dir), before, `rollout ${extra.join(' ')}: something was written`);
    }
    assert.is(readFileSync(join(dir, 'KEYS/rollout.json'), 'utf8'), counter);
  } finally {
    cleanup();
  }
});

test.run();
