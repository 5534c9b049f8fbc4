// bootloader/build.sh reads every board config through the agent's validator: a quote that would
// close the prologue's '...' and inject U-Boot commands, an unknown script key, a control byte, a
// config without `script` or not JSON at all stop the build with one typed line, and nothing is
// written for that board.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../support/boot-device.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

const skip = missingReason(missingTools('bootloader/build.sh refusals', 'mkimage'));
const it = gate(skip);

const BOARD = 'qemu-virt-arm64';
type Json = Record<string, unknown>;

function good(): Json {
  const json: unknown = JSON.parse(readFileSync(repoPath('board-configs', `${BOARD}.json`), 'utf8'));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('board config is not an object');
  return { ...json };
}

function withScript(change: (script: Json) => void): string {
  const json = good();
  const original = json['script'];
  if (typeof original !== 'object' || original === null) throw new Error('board config has no script object');
  const script: Json = { ...original };
  change(script);
  return JSON.stringify({ ...json, script });
}

function build(text: string): { status: number | null; stderr: string; wrote: boolean } {
  const t = tempDir('ota-build-boot-');
  try {
    const configs = join(t.dir, 'configs');
    mkdirSync(configs);
    writeFileSync(join(configs, `${BOARD}.json`), text);
    const out = join(t.dir, 'out');
    const r = spawnSync('bash', [repoPath('bootloader', 'build.sh')], { env: { ...process.env, OTA_BOOT_OUT: out, OTA_BOARD_CONFIGS: configs }, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr, wrote: existsSync(join(out, BOARD)) };
  } finally { t.cleanup(); }
}

it('the unchanged config builds (the control case)', () => {
  const r = build(JSON.stringify(good()));
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.wrote);
});

it('a refused board config stops build.sh with one typed line and writes nothing for the board', () => {
  const cases: [string, string, RegExp][] = [
    ['quote in ota_bootargs', withScript((s) => { s['ota_bootargs'] = "console=ttyAMA0'; setenv BOOT_ORDER B; saveenv; echo '"; }), /script\.ota_bootargs/],
    ['unknown script key', withScript((s) => { s['ota_evil'] = 'run x'; }), /script\.ota_evil: is not a known field/],
    ['newline in a value', withScript((s) => { s['ota_bootargs'] = 'console=ttyAMA0\nsetenv BOOT_ORDER B'; }), /script\.ota_bootargs/],
    ['CR in a value', withScript((s) => { s['ota_load'] = 'load virtio 0:2\rsaveenv'; }), /script\.ota_load/],
    ['no script', JSON.stringify({ ...good(), script: undefined }), /script: is missing/],
    ['not JSON', '{ "board": ', /not valid JSON/],
  ];
  for (const [what, text, reason] of cases) {
    const r = build(text);
    assert.is(r.status, 1, `${what}: exit status`);
    assert.match(r.stderr, /^board\.mjs: \[BOARD_CONFIG_INVALID\] /, `${what}: ${r.stderr}`);
    assert.match(r.stderr, reason, what);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line, no stack: ${r.stderr}`);
    assert.not.ok(r.wrote, `${what}: nothing written for the board`);
  }
});

test.run();
