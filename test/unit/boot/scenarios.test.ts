// The boot layer end to end on a simulated device: the agent's UBootControl
// writes the env, the simulator runs the real boot.cmd on it at each power-on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { join } from 'node:path';
import { UBootControl, nextBootSlot } from '../../../agent/src/boot/index.js';
import type { Slot } from '../../../agent/src/boot/index.js';
import { FakeBootEnv } from '../../support/fake-boot-env.js';
import { SimDevice } from '../../support/boot-device.js';
import { tempDir } from '../../support/tools.js';

function device(tries = 3) {
  const t = tempDir();
  const env = new FakeBootEnv();
  const dev = new SimDevice(env, join(t.dir, 'cmdline'));
  return { t, env, dev, control: new UBootControl({ env, cmdlinePath: dev.cmdlinePath, tries }) };
}

test('an update of B that never commits falls back to A after the configured tries', async () => {
  for (const tries of [1, 3, 9]) {
    const d = device(tries);
    try {
      assert.is(d.dev.powerOn(), 'A');
      await d.control.markGood('A');
      await d.control.setPrimary('B');
      const boots: (string | null)[] = [];
      for (let i = 0; i < tries + 1; i++) boots.push(d.dev.powerOn());
      assert.equal(boots, [...Array<string>(tries).fill('B'), 'A'], `tries ${tries}`);
      assert.is(await d.control.booted(), 'A');
      assert.equal(await d.control.state('B'), { kind: 'trying', triesLeft: 0 });
      await d.control.markBad('B');
      assert.equal(await d.control.state('B'), { kind: 'bad' });
      assert.is(d.dev.powerOn(), 'A');
    } finally { d.t.cleanup(); }
  }
});

test('an update of B that commits stays on B across reboots', async () => {
  const d = device();
  try {
    d.dev.powerOn();
    await d.control.markGood('A');
    await d.control.setPrimary('B');
    assert.is(d.dev.powerOn(), 'B');
    assert.is(await d.control.booted(), 'B');
    await d.control.markGood('B');
    for (let i = 0; i < 10; i++) {
      assert.is(d.dev.powerOn(), 'B');
      await d.control.markGood('B');
    }
    assert.equal(await d.control.state('B'), { kind: 'good', triesLeft: 3 });
  } finally { d.t.cleanup(); }
});

test('a committed slot that stops being marked good runs out, and both exhausted resets and cycles', async () => {
  const d = device(2);
  try {
    d.dev.powerOn();
    await d.control.markBad('B');
    const boots: (string | null)[] = [];
    for (let i = 0; i < 5; i++) boots.push(d.dev.powerOn());
    assert.equal(boots, ['A', 'A', 'A', 'A', 'A'], 'only A is in the order: refilled when exhausted');
    assert.ok(d.dev.runs.some((r) => r.outcome.kind === 'reset'), 'exhaustion went through a reset');
    assert.is(d.env.vars.get('BOOT_B_LEFT'), '0');
    assert.ok(Number.parseInt(d.env.vars.get('OTA_EXHAUSTED') ?? '0', 16) >= 1);
  } finally { d.t.cleanup(); }
});

test('both slots marked bad: BOOT_ORDER goes, and the script still boots A rather than stopping', async () => {
  const d = device();
  try {
    d.dev.powerOn();
    await d.control.markBad('B');
    await d.control.markBad('A');
    assert.is(d.env.vars.has('BOOT_ORDER'), false);
    assert.equal([await d.control.state('A'), await d.control.state('B')], [{ kind: 'bad' }, { kind: 'bad' }]);
    assert.is(await d.control.primary(), 'A');
    assert.is(d.dev.powerOn(), 'A');
    assert.is(d.env.vars.get('BOOT_ORDER'), 'A B');
  } finally { d.t.cleanup(); }
});

test('the canary the agent checks is the one the script wrote this boot', async () => {
  const d = device();
  try {
    d.dev.powerOn();
    d.dev.powerOn();
    assert.is(d.env.vars.get('OTA_BOOT_COUNT'), '2');
    await d.control.setPrimary('B');
    assert.is(d.dev.powerOn(), 'B');
    assert.is(d.env.vars.get('OTA_BOOT_COUNT'), '3');
    await d.control.markGood('B');
  } finally { d.t.cleanup(); }
});

type Op = { op: 'setPrimary' | 'markGood' | 'markBad'; slot: Slot } | { op: 'reboot' };

test('property: counters stay one digit, and primary() predicts the slot the script boots', async () => {
  const slot = fc.constantFrom<Slot>('A', 'B');
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constantFrom<'setPrimary' | 'markGood' | 'markBad'>('setPrimary', 'markGood', 'markBad'), slot }),
    fc.constant<Op>({ op: 'reboot' }),
  );
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.array(op, { maxLength: 30 }), async (tries, ops) => {
    const d = device(tries);
    try {
      d.dev.powerOn();
      for (const o of ops) {
        if (o.op === 'reboot') {
          const predicted = await d.control.primary();
          const runsBefore = d.dev.runs.length;
          const bootedSlot = d.dev.powerOn();
          const resets = d.dev.runs.length - runsBefore - 1;
          // After a refill-and-reset the first slot of the order boots, which primary() also predicts.
          assert.is(bootedSlot, predicted, `predicted ${predicted} after ${resets} resets`);
        } else {
          await d.control[o.op](o.slot);
        }
        for (const name of ['BOOT_A_LEFT', 'BOOT_B_LEFT']) {
          assert.match(d.env.vars.get(name) ?? '0', /^[0-9]$/, `${name} is one digit`);
        }
        assert.is(nextBootSlot(d.env.vars), await d.control.primary());
      }
    } finally { d.t.cleanup(); }
  }), { numRuns: 150 });
});

test.run();
