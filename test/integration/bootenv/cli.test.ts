/**
 * `ota-agent env print` / `env set` on real files, against fw_printenv's output.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../agent/src/cli/index.js';
import { missingTools, runMain, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { ENV_TOOLS, fwPrintenv, mkenvimage, writeEnvConfig } from '../../support/uboot-env-tools.js';

const SIZE = 0x4000;
const skip = missingReason(missingTools('ota-agent env CLI tests against fw_printenv', ...ENV_TOOLS));
const it = gate(skip);
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

const LINES = ['bootcmd=run distro_bootcmd', 'BOOT_ORDER=A B', 'bootargs=console=ttyAMA0 root=/dev/vda2 rw', 'zz_last=é€', 'a=first', 'a=second', '.flags=a:sa'];

function mkenv(dir: string): string {
  return writeEnvConfig(join(dir, 'fw_env.config'), [[mkenvimage(dir, LINES, SIZE), 0]], SIZE);
}

const imageOf = (config: string): string => readFileSync(config, 'utf8').split(' ')[0] ?? '';

it('npx ota-agent env print on a mkenvimage file prints exactly what fw_printenv prints', () => {
  const t = tempDir('ota-env-cli-');
  try {
    const config = mkenv(t.dir);
    const r = spawnSync('npx', ['--no-install', 'ota-agent', 'env', 'print', '--config', config], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.stderr, '');
    assert.is(r.status, 0);
    assert.is(r.stdout, fwPrintenv(config));
    assert.ok(r.stdout.includes('a=second\n') && !r.stdout.includes('.flags'), 'duplicates and .flags as fw_printenv shows them');
  } finally { t.cleanup(); }
});

it('env print NAME... and -n NAME print what fw_printenv prints', async () => {
  const t = tempDir('ota-env-cli-');
  try {
    const config = mkenv(t.dir);
    for (const args of [['BOOT_ORDER', 'bootargs'], ['zz_last'], ['-n', 'bootargs'], ['-n', 'a']]) {
      const r = await runMain(main, ['env', 'print', '-c', config, ...args]);
      assert.is(r.code, 0, args.join(' '));
      assert.is(r.stdout, fwPrintenv(config, ...args), args.join(' '));
    }
  } finally { t.cleanup(); }
});

it('env print of a missing NAME: the others print, `## Error: "X" not defined` on stderr, exit 1', async () => {
  const t = tempDir('ota-env-cli-');
  try {
    const config = mkenv(t.dir);
    const r = await runMain(main, ['env', 'print', '-c', config, 'a', 'nope', 'BOOT_ORDER']);
    assert.is(r.code, 1);
    assert.is(r.stdout, 'a=second\nBOOT_ORDER=A B\n');
    assert.is(r.stderr, '## Error: "nope" not defined\n');
    const n = await runMain(main, ['env', 'print', '-c', config, '-n']);
    assert.is(n.code, 2, 'a usage error (docs/cli.md)');
    assert.match(n.stderr, '-n needs exactly one NAME');
    assert.is(n.stdout, '');
  } finally { t.cleanup(); }
});

it('env set NAME=VALUE... is one write that fw_printenv reads; NAME= deletes', async () => {
  const t = tempDir('ota-env-cli-');
  try {
    const config = mkenv(t.dir);
    const r = await runMain(main, ['env', 'set', '-c', config, 'BOOT_ORDER=B A', 'BOOT_B_LEFT=3', 'bootcmd=', 'x=a=b c']);
    assert.is(r.stderr, '');
    assert.is(r.code, 0);
    assert.is(fwPrintenv(config), 'BOOT_B_LEFT=3\nBOOT_ORDER=B A\na=second\nbootargs=console=ttyAMA0 root=/dev/vda2 rw\nx=a=b c\nzz_last=é€\n');
    assert.is((await runMain(main, ['env', 'set', '-c', config, 'n=010', '0x10=1e3'])).code, 0);
    assert.is(fwPrintenv(config, 'n', '0x10'), 'n=010\n0x10=1e3\n', 'number-like arguments stay text');
    const bad = await runMain(main, ['env', 'set', '-c', config, 'novalue']);
    assert.is(bad.code, 2, 'a usage error (docs/cli.md)');
    assert.match(bad.stderr, 'expected NAME=VALUE');
  } finally { t.cleanup(); }
});

it('env set --script: name=value lines, # comments; a line without = is refused and nothing is written', async () => {
  const t = tempDir('ota-env-cli-');
  try {
    const config = mkenv(t.dir);
    const script = join(t.dir, 'script.txt');
    writeFileSync(script, '# arm a trial boot\nBOOT_ORDER=B A\n\nBOOT_B_LEFT=3\r\nbootcmd=\n');
    assert.is((await runMain(main, ['env', 'set', '-c', config, '--script', script])).code, 0);
    assert.is(fwPrintenv(config, 'BOOT_ORDER', 'BOOT_B_LEFT'), 'BOOT_ORDER=B A\nBOOT_B_LEFT=3\n');
    assert.not.match(fwPrintenv(config), 'bootcmd=');
    const image = readFileSync(imageOf(config));
    writeFileSync(script, 'ok=1\nkey value\n');
    const r = await runMain(main, ['env', 'set', '-c', config, '--script', script]);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'line 2: "key value" has no \'=\'');
    assert.match(r.stderr, '[ENV_TEXT]');
    assert.equal(readFileSync(imageOf(config)), image, 'nothing written');
  } finally { t.cleanup(); }
});

it('no valid copy: print and set refuse (exit 1, ENV_NO_VALID_COPY, nothing written); --force-default FILE writes', async () => {
  const t = tempDir('ota-env-cli-');
  try {
    const image = join(t.dir, 'env.img');
    writeFileSync(image, new Uint8Array(2 * SIZE).fill(0xff));
    const config = writeEnvConfig(join(t.dir, 'fw_env.config'), [[image, 0], [image, SIZE]], SIZE);
    const p = await runMain(main, ['env', 'print', '-c', config]);
    assert.is(p.code, 1);
    assert.match(p.stderr, '[ENV_NO_VALID_COPY]');
    const s = await runMain(main, ['env', 'set', '-c', config, 'a=1']);
    assert.is(s.code, 1);
    assert.match(s.stderr, '--force-default');
    assert.ok(readFileSync(image).every((b) => b === 0xff), 'nothing written');
    const defaults = join(t.dir, 'u-boot-initial-env');
    writeFileSync(defaults, '# defaults\nbootdelay=2\nBOOT_ORDER=A B\n');
    const f = await runMain(main, ['env', 'set', '-c', config, '--force-default', defaults, 'a=1']);
    assert.is(f.code, 0, f.stderr);
    assert.is(fwPrintenv(config), 'BOOT_ORDER=A B\na=1\nbootdelay=2\n');
  } finally { t.cleanup(); }
});

it('env set beyond the env size: ENV_TOO_SMALL, exit 1', async () => {
  const t = tempDir('ota-env-cli-');
  try {
    const config = mkenv(t.dir);
    const r = await runMain(main, ['env', 'set', '-c', config, `big=${'x'.repeat(SIZE)}`]);
    assert.is(r.code, 1);
    assert.match(r.stderr, '[ENV_TOO_SMALL]');
  } finally { t.cleanup(); }
});

test.run();
