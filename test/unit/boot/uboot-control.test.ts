import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UBootControl, parseCmdline } from '../../../agent/src/boot/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { FakeBootEnv } from '../../support/fake-boot-env.js';
import { tempDir } from '../../support/tools.js';

function setup(vars: Record<string, string>, cmdline = 'console=ttyAMA0 root=/dev/vda2 ota.slot=A ota.boot=4') {
  const t = tempDir();
  const cmdlinePath = join(t.dir, 'cmdline');
  writeFileSync(cmdlinePath, `${cmdline}\n`);
  const env = new FakeBootEnv(Object.entries(vars));
  return { t, env, control: new UBootControl({ env, cmdlinePath }) };
}

const booted = { BOOT_ORDER: 'A B', BOOT_A_LEFT: '2', BOOT_B_LEFT: '3', OTA_BOOT_COUNT: '4' };

async function refused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  try {
    await p;
    assert.unreachable('should have been refused');
  } catch (err) {
    assert.instance(err, OtaError);
    if (!(err instanceof OtaError)) return;
    assert.is(err.code, code);
    assert.match(err.message, pattern);
  }
}

test('parseCmdline finds the slot and the boot count among other parameters', () => {
  assert.equal(parseCmdline('console=ttyAMA0 ota.slot=B root=/dev/vda3 ota.boot=1f quiet'), { slot: 'B', bootCount: '1f' });
  assert.equal(parseCmdline('ota.slot=C'), { slot: null, bootCount: null });
});

test('booted comes from the kernel command line; missing ota.slot is a clear error', async () => {
  const a = setup(booted);
  const b = setup(booted, 'console=ttyAMA0 root=/dev/vda3');
  try {
    assert.is(await a.control.booted(), 'A');
    await refused(b.control.booted(), 'BOOT_SLOT_UNKNOWN', /has no ota\.slot=A\|B/);
  } finally { a.t.cleanup(); b.t.cleanup(); }
});

test('setPrimary arms a trial in one update: order, tries, trial marker', async () => {
  const s = setup(booted);
  try {
    await s.control.setPrimary('B');
    assert.is(s.env.updates, 1);
    assert.equal(Object.fromEntries(s.env.vars), { ...booted, BOOT_ORDER: 'B A', BOOT_B_LEFT: '3', OTA_TRIAL: 'B' });
    assert.equal(await s.control.state('B'), { kind: 'trying', triesLeft: 3 });
    assert.equal(await s.control.state('A'), { kind: 'good', triesLeft: 2 });
    assert.is(await s.control.primary(), 'B');
  } finally { s.t.cleanup(); }
});

test('markGood refills the tries and ends the trial; markBad takes the slot out of the order', async () => {
  const s = setup({ ...booted, BOOT_ORDER: 'B A', BOOT_B_LEFT: '1', OTA_TRIAL: 'B' });
  try {
    await s.control.markGood('B');
    assert.equal(await s.control.state('B'), { kind: 'good', triesLeft: 3 });
    assert.is(s.env.vars.get('OTA_TRIAL'), undefined);
    await s.control.markBad('A');
    assert.is(s.env.updates, 2);
    assert.is(s.env.vars.get('BOOT_ORDER'), 'B');
    assert.equal(await s.control.state('A'), { kind: 'bad' });
    await s.control.markGood('A');
    assert.is(s.env.vars.get('BOOT_ORDER'), 'B A', 'a slot marked good is back in the order, last');
  } finally { s.t.cleanup(); }
});

test('states: not in order is bad; no tries left is bad unless on trial', async () => {
  const s = setup({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0', OTA_TRIAL: 'B', OTA_BOOT_COUNT: '1' });
  try {
    assert.equal(await s.control.state('A'), { kind: 'bad' });
    assert.equal(await s.control.state('B'), { kind: 'trying', triesLeft: 0 });
    assert.is(await s.control.primary(), 'A', 'nothing has tries: the script refills and boots the first');
  } finally { s.t.cleanup(); }
});

test('refuses to arm when the canary is missing or is not the one U-Boot passed', async () => {
  const missing = setup({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3' });
  const stale = setup({ ...booted, OTA_BOOT_COUNT: '3' });
  try {
    await refused(missing.control.setPrimary('B'), 'BOOT_ENV_CANARY', /OTA_BOOT_COUNT.*is missing.*fw_env\.config/);
    await refused(stale.control.setPrimary('B'), 'BOOT_ENV_CANARY', /ota\.boot=4 but the env holds OTA_BOOT_COUNT=3/);
    await refused(stale.control.markGood('A'), 'BOOT_ENV_CANARY', /refusing to mark slot A good/);
    assert.is(missing.env.updates + stale.env.updates, 0, 'nothing written');
  } finally { missing.t.cleanup(); stale.t.cleanup(); }
});

test('env errors say what the agent was doing and keep their code', async () => {
  const s = setup(booted);
  try {
    s.env.failNextUpdate = new OtaError('EIO', 'write copy 2: EIO');
    await refused(s.control.setPrimary('B'), 'EIO', /^arm a trial boot of slot B: write copy 2: EIO$/);
    s.env.invalid = true;
    await refused(s.control.state('A'), 'ENV_NO_VALID_COPY', /^read the state of slot A: fake env \(memory\): no valid copy$/);
  } finally { s.t.cleanup(); }
});

test('tries outside 1..9 are refused at construction', () => {
  for (const tries of [0, 10, 2.5]) {
    assert.throws(() => new UBootControl({ env: new FakeBootEnv(), cmdlinePath: 'x', tries }), /out of range: use 1\.\.9/);
  }
});

test.run();
