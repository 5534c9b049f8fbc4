// U-Boot's legacy script image (agent/src/boot/script-image.ts): made byte for byte as mkimage makes it, and
// refused as U-Boot's `source` refuses it: at every truncation, on a flipped bit in the header or the data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isValidScriptImage, makeScriptImage, parseScriptImage } from '../../../agent/src/boot/index.js';
import { bootScript } from '../../support/boot-device.js';
import { tempDir } from '../../support/tools.js';

const TEXT = bootScript();

test('makeScriptImage writes what mkimage -A arm64 -O linux -T script -C none writes (same epoch)', () => {
  const { dir, cleanup } = tempDir('ota-script-image-');
  try {
    writeFileSync(join(dir, 'boot.cmd'), TEXT);
    const r = spawnSync('mkimage', ['-A', 'arm64', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'ota-agent A/B boot', '-d', join(dir, 'boot.cmd'), join(dir, 'boot.scr')],
      { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
    assert.is(r.status, 0, `mkimage (u-boot-tools): ${r.stderr}`);
    const theirs = readFileSync(join(dir, 'boot.scr'));
    assert.ok(makeScriptImage(TEXT, 'arm64', 'ota-agent A/B boot', 1700000000).equals(theirs), 'byte for byte');
    assert.equal(parseScriptImage(theirs, 'boot.scr'), { text: TEXT, name: 'ota-agent A/B boot', arch: 'arm64' });
  } finally { cleanup(); }
});

test('every truncation and a flipped bit in each header field or the data is refused, as source refuses it', () => {
  const image = makeScriptImage(TEXT, 'arm', 'x');
  for (let n = 0; n < image.length; n++) assert.not.ok(isValidScriptImage(image.subarray(0, n)), `truncated to ${n} bytes`);
  for (const at of [0, 4, 8, 12, 24, 29, 30, 31, 40, 64, 68, 72, image.length >> 1, image.length - 1]) {
    const flipped = Buffer.from(image);
    flipped[at] = (flipped[at] ?? 0) ^ 0x10;
    assert.not.ok(isValidScriptImage(flipped), `bit flipped at byte ${at}`);
  }
  assert.ok(isValidScriptImage(image));
  assert.throws(() => parseScriptImage(Buffer.from('kernel=u-boot.bin\narm_64bit=1\n'.repeat(4)), 'config.txt'), /config\.txt: not a U-Boot legacy image \(bad magic\)/);
});

test.run();
