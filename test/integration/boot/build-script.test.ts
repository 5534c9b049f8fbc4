// bootloader/build.sh: mkimage script images for arm64 and arm, and one per board config
// whose text is boardPrologue() + boot.cmd, so the simulator runs what U-Boot runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { boardPrologue, parseBoardConfig } from '../../../agent/src/boot/index.js';
import { parseEnvConfig } from '../../../agent/src/bootenv/index.js';
import { bootScript, repoPath } from '../../support/boot-device.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

const skip = missingReason(missingTools('bootloader/build.sh', 'mkimage'));
const it = gate(skip);

const IH_ARCH = { arm: 2, arm64: 22 } as const;
const IH_TYPE_SCRIPT = 6;

/** The header fields and the script text of a legacy (mkimage -T script) image. */
function readScriptImage(path: string): { arch: number; type: number; text: string } {
  const bytes = readFileSync(path);
  assert.is(bytes.readUInt32BE(0), 0x27051956, `${path}: U-Boot image magic`);
  const firstLength = bytes.readUInt32BE(64);
  assert.is(bytes.readUInt32BE(68), 0, 'one part in the length list');
  return { arch: bytes[29] ?? -1, type: bytes[30] ?? -1, text: bytes.subarray(72, 72 + firstLength).toString('utf8') };
}

it('build.sh compiles boot.cmd for both architectures and every board', () => {
  const t = tempDir();
  try {
    execFileSync('bash', [repoPath('bootloader', 'build.sh')], { env: { ...process.env, OTA_BOOT_OUT: t.dir }, stdio: 'pipe' });
    const script = bootScript();
    for (const arch of ['arm64', 'arm'] as const) {
      const image = readScriptImage(join(t.dir, `boot-${arch}.scr`));
      assert.equal([image.arch, image.type, image.text], [IH_ARCH[arch], IH_TYPE_SCRIPT, script]);
    }
    const boards = readdirSync(repoPath('board-configs')).filter((f) => f.endsWith('.json'));
    assert.ok(boards.length >= 5);
    const example = parseEnvConfig(readFileSync(repoPath('bootloader', 'fw_env.config'), 'utf8'), '/x');
    assert.equal(example.copies.map((c) => [c.device, c.offsetBytes, c.envSizeBytes]), [['/x/env.img', 0, 0x40000]], 'bootloader/fw_env.config parses');
    for (const f of boards) {
      const config = parseBoardConfig(readFileSync(repoPath('board-configs', f), 'utf8'), f);
      const image = readScriptImage(join(t.dir, config.board, 'boot.scr'));
      assert.is(image.arch, IH_ARCH[config.arch], `${f}: mkimage -A ${config.arch}`);
      assert.is(image.text, boardPrologue(config) + script, `${f}: the prologue build.sh writes is boardPrologue()`);
      const fwEnv = parseEnvConfig(readFileSync(join(t.dir, config.board, 'fw_env.config'), 'utf8'), '/');
      assert.equal(fwEnv, config.env.parsed, `${f}: build.sh writes the board's fw_env.config`);
    }
  } finally { t.cleanup(); }
});

test.run();
