// UBootControl on a real env image (the file-backed UBootEnv of agent/src/bootenv), with
// U-Boot's side played by the simulator running boot.cmd, reading the env through
// fw_printenv and saving it with fw_setenv: what the agent writes is what the real tools
// (and so U-Boot's format) read, and the other way round.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBootEnv } from '../../../agent/src/bootenv/index.js';
import { UBootControl } from '../../../agent/src/boot/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { bootRuns } from '../../../agent/src/sim/index.js';
import { QEMU_DEFAULT_ENV, bootScript } from '../../support/boot-device.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

const skip = missingReason(missingTools('UBootControl on a real env file', 'fw_printenv', 'fw_setenv', 'mkenvimage'));
const it = gate(skip);
const script = bootScript();

/** A device whose env is a QEMU flash bank image, as fw_env.config `env.img 0x0 0x40000 0x40000` describes. */
function device(dir: string) {
  const seed = join(dir, 'seed.txt');
  writeFileSync(seed, [...QEMU_DEFAULT_ENV].map(([k, v]) => `${k}=${v}\n`).join(''));
  execFileSync('mkenvimage', ['-s', '0x40000', '-o', join(dir, 'env.img'), seed]);
  const config = join(dir, 'fw_env.config');
  writeFileSync(config, 'env.img 0x0 0x40000 0x40000\n');
  return { config, cmdline: join(dir, 'cmdline') };
}

function printenv(dir: string, config: string): Map<string, string> {
  const out = execFileSync('fw_printenv', ['-c', config], { cwd: dir, encoding: 'utf8' });
  return new Map(out.split('\n').filter((l) => l !== '').map((l) => {
    const eq = l.indexOf('=');
    return [l.slice(0, eq), l.slice(eq + 1)] as const;
  }));
}

/**
 * U-Boot runs boot.cmd (the agent's power-on model, `bootRuns`) on the env fw_printenv reads; each
 * run's saveenv goes through fw_setenv, and the next run reads it back. Returns the slot booted.
 */
function powerOn(dir: string, config: string, cmdline: string): string | null {
  const booted = bootRuns(script, printenv(dir, config));
  for (const run of booted.runs) {
    if (run.saves === 0 || run.nativeEnv === null) continue;
    const before = printenv(dir, config);
    const after = run.nativeEnv;
    const sets = [...after].filter(([k, v]) => before.get(k) !== v).map(([k, v]) => `${k}=${v}\n`).join('');
    writeFileSync(join(dir, 'saveenv.txt'), sets);
    execFileSync('fw_setenv', ['-c', config, '-s', 'saveenv.txt'], { cwd: dir });
    for (const k of before.keys()) if (!after.has(k)) execFileSync('fw_setenv', ['-c', config, k], { cwd: dir });
    assert.equal(printenv(dir, config), after, 'fw_printenv reads back what the run saved');
  }
  if (booted.kernel === null) throw new Error(booted.failure);
  writeFileSync(cmdline, `${booted.kernel.bootargs}\n`);
  return booted.kernel.slot;
}

it('arm, fall back, arm again and commit on a real env image; fw_printenv reads what the agent wrote', async () => {
  const t = tempDir();
  try {
    const d = device(t.dir);
    const control = new UBootControl({ env: await openBootEnv({ configPath: d.config, cwd: t.dir }), cmdlinePath: d.cmdline, tries: 2 });
    assert.is(powerOn(t.dir, d.config, d.cmdline), 'A');
    await control.markGood('A');
    await control.setPrimary('B');
    const armed = printenv(t.dir, d.config);
    assert.equal([armed.get('BOOT_ORDER'), armed.get('BOOT_B_LEFT'), armed.get('OTA_TRIAL'), armed.get('kernel_addr_r')], ['B A', '2', 'B', '0x40400000']);
    assert.equal([powerOn(t.dir, d.config, d.cmdline), powerOn(t.dir, d.config, d.cmdline), powerOn(t.dir, d.config, d.cmdline)], ['B', 'B', 'A']);
    assert.is(await control.booted(), 'A');
    assert.equal(await control.state('B'), { kind: 'trying', triesLeft: 0 });
    await control.setPrimary('B');
    assert.is(powerOn(t.dir, d.config, d.cmdline), 'B');
    await control.markGood('B');
    assert.is(powerOn(t.dir, d.config, d.cmdline), 'B');
    const final = printenv(t.dir, d.config);
    assert.equal([final.get('BOOT_ORDER'), final.get('OTA_TRIAL'), final.get('OTA_BOOT_COUNT')], ['B A', undefined, '6']);
  } finally { t.cleanup(); }
});

it('a fw_env.config that points at another env than U-Boot uses is caught by the canary', async () => {
  const t = tempDir();
  try {
    const d = device(t.dir);
    assert.is(powerOn(t.dir, d.config, d.cmdline), 'A');
    // fw_env.config names another env image, holding an older copy of the state.
    const stale = printenv(t.dir, d.config);
    stale.set('OTA_BOOT_COUNT', '0');
    writeFileSync(join(t.dir, 'stale.txt'), [...stale].map(([k, v]) => `${k}=${v}\n`).join(''));
    execFileSync('mkenvimage', ['-s', '0x40000', '-o', join(t.dir, 'stale.img'), join(t.dir, 'stale.txt')]);
    writeFileSync(join(t.dir, 'wrong.config'), 'stale.img 0x0 0x40000 0x40000\n');
    const wrong = new UBootControl({ env: await openBootEnv({ configPath: join(t.dir, 'wrong.config'), cwd: t.dir }), cmdlinePath: d.cmdline });
    try {
      await wrong.setPrimary('B');
      assert.unreachable('should refuse');
    } catch (err) {
      assert.instance(err, OtaError);
      assert.match(String(err), /ota\.boot=1 but the env holds OTA_BOOT_COUNT=0/);
    }
    assert.is(printenv(t.dir, join(t.dir, 'wrong.config')).get('BOOT_ORDER'), 'A B', 'nothing written');
  } finally { t.cleanup(); }
});

test.run();
