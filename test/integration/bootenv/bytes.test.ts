/**
 * The env is bytes: a value fw_setenv wrote that is not UTF-8 (`lat=caf\xe9`) survives every agent
 * write byte for byte, as fw_printenv reads it back; `env set --script` stores a file's bytes as given;
 * what would forge a line in fw_printenv's output is refused at the command line and in scripts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../agent/src/cli/index.js';
import { openBootEnv } from '../../../agent/src/bootenv/index.js';
import { UBootControl } from '../../../agent/src/boot/index.js';
import { missingTools, runMain, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { ENV_TOOLS, mkenvimage, writeEnvConfig } from '../../support/uboot-env-tools.js';

const SIZE = 0x4000;
const skip = missingReason(missingTools('env bytes kept through agent writes', ...ENV_TOOLS));
const it = gate(skip);

/** fw_printenv's output as raw bytes (runTool decodes UTF-8, which would hide the bug). */
function printenvBytes(config: string, ...names: string[]): Buffer {
  const r = spawnSync('fw_printenv', ['-c', config, ...names]);
  assert.is(r.status, 0, `fw_printenv: ${r.stderr.toString()}`);
  return r.stdout;
}

/** fw_setenv -s with a script file holding `bytes`. */
function fwSetenvScript(dir: string, config: string, bytes: Buffer): void {
  const script = join(dir, 'fw-script.txt');
  writeFileSync(script, bytes);
  const r = spawnSync('fw_setenv', ['-c', config, '-s', script]);
  assert.is(r.status, 0, `fw_setenv: ${r.stderr.toString()}`);
}

function device(dir: string, redundant: boolean): string {
  const image = mkenvimage(dir, ['BOOT_ORDER=A B', 'BOOT_A_LEFT=3'], SIZE, { redundant });
  if (redundant) appendFileSync(image, new Uint8Array(SIZE));
  const copies: [string, number][] = redundant ? [[image, 0], [image, SIZE]] : [[image, 0]];
  return writeEnvConfig(join(dir, 'fw_env.config'), copies, SIZE);
}

const FOREIGN = Buffer.concat([Buffer.from('lat=caf'), Buffer.from([0xe9]), Buffer.from('\nbin='), Buffer.from([0x80, 0xff, 0xc3, 0x28]), Buffer.from('\n')]);

for (const redundant of [false, true]) {
  const kind = redundant ? 'redundant' : 'single';
  it(`${kind} env: fw_setenv writes non-UTF-8 values; an API write and a CLI write leave them byte for byte`, async () => {
    const t = tempDir('ota-env-bytes-');
    try {
      const config = device(t.dir, redundant);
      fwSetenvScript(t.dir, config, FOREIGN);
      const before = printenvBytes(config, 'lat', 'bin');
      assert.equal([...before], [...Buffer.concat([Buffer.from('lat=caf\xe9\n', 'latin1'), Buffer.from('bin=\x80\xff\xc3(\n', 'latin1')])]);
      const env = await openBootEnv({ configPath: config, cwd: t.dir });
      await env.update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '3' }); // what setPrimary writes
      assert.equal([...printenvBytes(config, 'lat', 'bin')], [...before], 'after an API write');
      const r = await runMain(main, ['env', 'set', '-c', config, 'BOOT_A_LEFT=2']);
      assert.is(r.code, 0, r.stderr);
      assert.equal([...printenvBytes(config, 'lat', 'bin')], [...before], 'after a CLI write');
      assert.is(printenvBytes(config, 'BOOT_ORDER', 'BOOT_A_LEFT').toString('latin1'), 'BOOT_ORDER=B A\nBOOT_A_LEFT=2\n');
    } finally { t.cleanup(); }
  });
}

it('UBootControl setPrimary, markGood and markBad (a whole copy each) keep the bytes of every other variable', async () => {
  const t = tempDir('ota-env-bytes-');
  try {
    const config = device(t.dir, true);
    fwSetenvScript(t.dir, config, Buffer.concat([Buffer.from('OTA_BOOT_COUNT=7\n'), FOREIGN]));
    const cmdline = join(t.dir, 'cmdline');
    writeFileSync(cmdline, 'console=ttyAMA0 ota.slot=A ota.boot=7\n');
    const before = printenvBytes(config, 'lat', 'bin');
    const control = new UBootControl({ env: await openBootEnv({ configPath: config, cwd: t.dir }), cmdlinePath: cmdline });
    await control.setPrimary('B');
    assert.equal([...printenvBytes(config, 'lat', 'bin')], [...before], 'after setPrimary');
    await control.markBad('B');
    assert.equal([...printenvBytes(config, 'lat', 'bin')], [...before], 'after markBad');
    await control.markGood('A');
    assert.equal([...printenvBytes(config, 'lat', 'bin')], [...before], 'after markGood');
    assert.is(printenvBytes(config, 'BOOT_ORDER', 'BOOT_B_LEFT').toString('latin1'), 'BOOT_ORDER=A\nBOOT_B_LEFT=0\n');
  } finally { t.cleanup(); }
});

it('env set --script stores the file\'s bytes as given, and a UTF-8 argument as UTF-8', async () => {
  const t = tempDir('ota-env-bytes-');
  try {
    const config = device(t.dir, false);
    const script = join(t.dir, 'script.txt');
    writeFileSync(script, Buffer.from('v=\xe9\xff\xfe end\nu=caf\xc3\xa9\n', 'latin1'));
    const r = await runMain(main, ['env', 'set', '-c', config, '--script', script]);
    assert.is(r.code, 0, r.stderr);
    assert.is(printenvBytes(config, 'v', 'u').toString('latin1'), 'v=\xe9\xff\xfe end\nu=caf\xc3\xa9\n');
    assert.is((await runMain(main, ['env', 'set', '-c', config, 'w=é€'])).code, 0);
    assert.equal([...printenvBytes(config, '-n', 'w')], [...Buffer.from('é€\n', 'utf8')]);
  } finally { t.cleanup(); }
});

it('env set refuses a forged line (newline in a name, CR or control byte in a value) from arguments and --script; fw_printenv sees no change', async () => {
  const t = tempDir('ota-env-bytes-');
  try {
    const config = device(t.dir, false);
    const before = printenvBytes(config);
    for (const arg of ['x\nBOOT_ORDER=B A', 'a b=1', 'v=B A\nBOOT_ORDER=B A', 'v=\x1b[2J']) {
      const r = await runMain(main, ['env', 'set', '-c', config, arg]);
      assert.is(r.code, 1, JSON.stringify(arg));
      assert.match(r.stderr, /ENV_BAD_(NAME|VALUE)/, JSON.stringify(arg));
      assert.is(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const script = join(t.dir, 'script.txt');
    writeFileSync(script, 'ok=1\nv=B A\rBOOT_ORDER=B A\n');
    const r = await runMain(main, ['env', 'set', '-c', config, '--script', script]);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'script.txt line 2');
    assert.equal([...printenvBytes(config)], [...before], 'nothing written');
  } finally { t.cleanup(); }
});

test.run();
