import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileKey, simulateBoot } from '../../../agent/src/boot/index.js';
import type { BootWorld } from '../../../agent/src/boot/index.js';
import { DISTRO_BOOT_VARS, QEMU_DEFAULT_ENV, bootScript } from '../../support/boot-device.js';

const script = bootScript();

function world(nativeEnv: Record<string, string> | null, extra: Partial<BootWorld> = {}): BootWorld {
  return {
    defaultEnv: QEMU_DEFAULT_ENV, bootVars: DISTRO_BOOT_VARS, ...extra,
    // A valid env replaces U-Boot's built-in one: a seeded env carries the load addresses too.
    nativeEnv: nativeEnv === null ? null : new Map([...QEMU_DEFAULT_ENV, ...Object.entries(nativeEnv)]),
  };
}

test('first boot on a lost env: defaults, slot A, one save, slot and canary on the command line', () => {
  const run = simulateBoot(script, world(null));
  assert.equal(run.outcome.kind, 'boot');
  if (run.outcome.kind !== 'boot') return;
  assert.is(run.outcome.slot, 'A');
  assert.match(run.outcome.bootargs, /(^| )root=\/dev\/vda2( |$)/);
  assert.match(run.outcome.bootargs, / ota\.slot=A ota\.boot=1$/);
  assert.match(run.outcome.command, /^booti 0x40400000 0x44000000:1000 7ed6e300$/);
  assert.is(run.saves, 1);
  const saved = run.nativeEnv;
  assert.ok(saved);
  assert.is(saved.get('BOOT_ORDER'), 'A B');
  assert.is(saved.get('BOOT_A_LEFT'), '2');
  assert.is(saved.get('BOOT_B_LEFT'), '3');
  assert.is(saved.get('OTA_BOOT_COUNT'), '1');
  assert.is(saved.get('s'), undefined, 'the for-loop variable is a shell local, never saved');
  assert.is(saved.get('bootargs'), undefined, 'bootargs are set after the save');
});

test('the canary counts every boot in hex', () => {
  let env: Map<string, string> | null = null;
  const seen: string[] = [];
  for (let i = 0; i < 17; i++) {
    const run = simulateBoot(script, world(env === null ? null : Object.fromEntries(env)));
    env = new Map(run.nativeEnv ?? []);
    // keep slot A good, as the agent's markGood would
    env.set('BOOT_A_LEFT', '3');
    seen.push(env.get('OTA_BOOT_COUNT') ?? '');
  }
  assert.is(seen[9], 'a');
  assert.is(seen[15], '10');
  assert.is(seen[16], '11');
});

test('a trial of B that never commits falls back to A after its tries', () => {
  let env: Record<string, string> = { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', OTA_BOOT_COUNT: '5' };
  const slots: (string | null)[] = [];
  for (let i = 0; i < 5; i++) {
    const run = simulateBoot(script, world(env));
    slots.push(run.outcome.kind === 'boot' ? run.outcome.slot : run.outcome.kind);
    env = Object.fromEntries(run.nativeEnv ?? []);
  }
  assert.equal(slots, ['B', 'B', 'B', 'A', 'A']);
  assert.is(env['BOOT_B_LEFT'], '0');
  assert.is(env['BOOT_A_LEFT'], '1');
});

test('both slots exhausted: counters of the slots in BOOT_ORDER refilled, saved, reset; then the primary boots', () => {
  const run = simulateBoot(script, world({ BOOT_ORDER: 'B A', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0', OTA_BOOT_COUNT: '7' }));
  assert.equal(run.outcome, { kind: 'reset' });
  assert.is(run.saves, 1);
  const saved = run.nativeEnv;
  assert.ok(saved);
  assert.equal([saved.get('BOOT_A_LEFT'), saved.get('BOOT_B_LEFT'), saved.get('OTA_EXHAUSTED'), saved.get('OTA_BOOT_COUNT')], ['3', '3', '1', '8']);
  assert.ok(run.output.some((l) => l.includes('no slot in BOOT_ORDER (B A) has tries left')));
  const next = simulateBoot(script, world(Object.fromEntries(saved)));
  assert.ok(next.outcome.kind === 'boot' && next.outcome.slot === 'B', 'the first slot of BOOT_ORDER boots after the refill');
});

test('exhausted with B marked bad: only A is refilled', () => {
  const run = simulateBoot(script, world({ BOOT_ORDER: 'A', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0', OTA_BOOT_COUNT: '1' }));
  assert.equal(run.outcome, { kind: 'reset' });
  assert.is(run.nativeEnv?.get('BOOT_A_LEFT'), '3');
  assert.is(run.nativeEnv?.get('BOOT_B_LEFT'), '0');
  assert.is(run.nativeEnv?.get('BOOT_ORDER'), 'A');
});

test('both slots marked bad: "A B" is restored and refilled, then A boots', () => {
  for (const order of ['', 'X']) {
    const run = simulateBoot(script, world({ BOOT_ORDER: order, BOOT_A_LEFT: '0', BOOT_B_LEFT: '0', OTA_BOOT_COUNT: '1' }));
    assert.equal(run.outcome, { kind: 'reset' }, `order '${order}'`);
    const saved = run.nativeEnv ?? new Map<string, string>();
    assert.equal([saved.get('BOOT_ORDER'), saved.get('BOOT_A_LEFT'), saved.get('BOOT_B_LEFT')], ['A B', '3', '3']);
    const next = simulateBoot(script, world(Object.fromEntries(saved)));
    assert.ok(next.outcome.kind === 'boot' && next.outcome.slot === 'A');
  }
});

test('a slot marked bad (not in BOOT_ORDER) is never booted, even with tries left', () => {
  let env: Record<string, string> = { BOOT_ORDER: 'A', BOOT_A_LEFT: '1', BOOT_B_LEFT: '9', OTA_BOOT_COUNT: '1' };
  for (let i = 0; i < 6; i++) {
    const run = simulateBoot(script, world(env));
    if (run.outcome.kind === 'boot') assert.is(run.outcome.slot, 'A');
    env = Object.fromEntries(run.nativeEnv ?? []);
  }
  assert.is(env['BOOT_B_LEFT'], '9');
});

test('hex semantics: a counter of 10 is read as 0x10 by setexpr, leaves f, and test reads f as 0', () => {
  const first = simulateBoot(script, world({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '10', BOOT_B_LEFT: '3', OTA_BOOT_COUNT: '1' }));
  assert.ok(first.outcome.kind === 'boot' && first.outcome.slot === 'A');
  assert.is(first.nativeEnv?.get('BOOT_A_LEFT'), 'f');
  const second = simulateBoot(script, world(Object.fromEntries(first.nativeEnv ?? [])));
  assert.ok(second.outcome.kind === 'boot' && second.outcome.slot === 'B', 'slot A is skipped: the trap that keeps counters at one digit');
});

test('a slot whose kernel is missing spends its tries and the other slot boots', () => {
  const missing = new Set([fileKey('virtio', '0:3', '/boot/vmlinuz')]);
  let env: Record<string, string> = { BOOT_ORDER: 'B A', BOOT_A_LEFT: '3', BOOT_B_LEFT: '2', OTA_BOOT_COUNT: '1' };
  const outcomes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const run = simulateBoot(script, world(env, { missingFiles: missing }));
    outcomes.push(run.outcome.kind === 'boot' ? `boot ${run.outcome.slot ?? '?'}` : run.outcome.kind);
    env = Object.fromEntries(run.nativeEnv ?? []);
  }
  assert.equal(outcomes, ['reset', 'reset', 'boot A']);
});

test('board settings from a prologue replace the defaults', () => {
  const prologue = "setenv ota_root_A /dev/mmcblk0p2\nsetenv ota_boot 'bootz ${kernel_addr_r} - ${fdt_addr_r}'\n";
  const run = simulateBoot(prologue + script, world(null, { ulongBits: 32 }));
  assert.ok(run.outcome.kind === 'boot');
  if (run.outcome.kind !== 'boot') return;
  assert.match(run.outcome.bootargs, /root=\/dev\/mmcblk0p2 /);
  assert.match(run.outcome.command, /^bootz 0x40400000 -$/);
});

test('file placement: state lives in uboot.env on the boot partition, board settings in the script win', () => {
  const script2 = `setenv ota_env file\n${script}`;
  const key = fileKey('virtio', '0:1', 'uboot.env');
  const first = simulateBoot(script2, world(null));
  assert.ok(first.outcome.kind === 'boot' && first.outcome.slot === 'A');
  assert.ok(first.output.some((l) => l.includes('WARNING no valid uboot.env')));
  assert.is(first.nativeEnv, null, 'saveenv is never used in file mode');
  assert.is(first.saves, 1);
  const file = first.files.get(key);
  assert.ok(file !== undefined && file.kind === 'env');
  if (file?.kind !== 'env') return;
  assert.is(file.sizeBytes, 0x4000);
  assert.is(file.vars.get('BOOT_A_LEFT'), '2');
  const edited = new Map(file.vars);
  edited.set('BOOT_ORDER', 'B A');
  edited.set('OTA_TRIAL', 'B');
  edited.set('ota_root_B', '/dev/evil');
  const second = simulateBoot(script2, world(null, { files: new Map([[key, { kind: 'env', vars: edited, sizeBytes: 0x4000 }]]) }));
  assert.ok(second.outcome.kind === 'boot');
  if (second.outcome.kind !== 'boot') return;
  assert.is(second.outcome.slot, 'B');
  assert.match(second.outcome.bootargs, /root=\/dev\/vda3 ota\.slot=B ota\.boot=2$/);
  const after = second.files.get(key);
  assert.ok(after?.kind === 'env' && after.vars.get('OTA_TRIAL') === 'B', 'agent-only state survives the export');
});

test('file placement: an env too large for ota_env_size is not written', () => {
  const script2 = `setenv ota_env file\nsetenv ota_env_size 0x100\nsetenv ota_bootargs ${'x'.repeat(300)}\n${script}`;
  const run = simulateBoot(script2, world(null));
  assert.is(run.saves, 0);
  assert.ok(run.output.some((l) => l.includes('do not fit')));
});

test('unknown commands and unsupported syntax are refused, not guessed', () => {
  assert.throws(() => simulateBoot(`mmc dev 1\n${script}`, world({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '0', BOOT_B_LEFT: '0', OTA_BOOT_COUNT: '1' })), /command 'mmc' is not simulated/);
  assert.throws(() => simulateBoot('echo a | echo b', world(null)), /line 1: '\|' alone/);
  assert.throws(() => simulateBoot('if true; then echo x', world(null)), /'if' without 'fi'/);
  assert.throws(() => simulateBoot('if true; then\nfi', world(null)), /line 2: empty 'if' condition or 'then' body/);
  assert.throws(() => simulateBoot('for s in a b; do done', world(null)), /line 1: empty 'do' body/);
  assert.throws(() => simulateBoot('while true; do echo; done', world(null)), /unexpected 'while'/);
  assert.throws(() => simulateBoot('echo "open', world(null)), /unterminated " quote/);
  assert.throws(() => simulateBoot('echo \\n', world(null)), /backslash escapes are not supported/);
  assert.throws(() => simulateBoot('setenv x "a b"\nsetenv y ${x}', world(null)), /line 2: \$\{x\} is "a b", which U-Boot's hush would parse again differently; quote it/);
  assert.throws(() => simulateBoot('setenv x "1;reset"\nsetenv y ${x}', world(null)), /line 2: \$\{x\} is "1;reset"/);
  assert.throws(() => simulateBoot("setenv x \"it's\"\necho \"${x}\"", world(null)), /line 2: \$\{x\} is "it's"/);
});

test.run();
