/** Machine config: defaults, overrides, removing a deadline, refusals. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DEADLINES_MS, parseMachineConfig } from '../../../agent/src/machine/index.js';

test('defaults: the documented deadlines, written out here (not read from the constant that defines them)', () => {
  assert.equal(parseMachineConfig(undefined), {
    maxSaves: 3,
    deadlinesMs: {
      verifying: 60_000, verifyingSlot: 3_600_000, arming: 60_000, rebooting: 300_000, checking: 600_000,
      committing: 60_000, reverting: 60_000, rebootingBack: 300_000, reporting: 60_000,
    },
    retry: { maxRetries: 8, firstDelayMs: 60_000, maxDelayMs: 3_600_000 },
  });
  assert.is(parseMachineConfig(undefined).deadlinesMs.installing, undefined, 'no default deadline for a long download');
});

test('the defaults are a copy: changing one config leaves the next untouched', () => {
  const first = parseMachineConfig(undefined);
  first.deadlinesMs.checking = 1;
  assert.is(parseMachineConfig(undefined).deadlinesMs.checking, 600_000);
  assert.is(DEFAULT_DEADLINES_MS.checking, 600_000);
});

test('override, add and remove deadlines', () => {
  const c = parseMachineConfig({ maxSaves: 5, deadlinesMs: { installing: 7_200_000, checking: null, arming: 1000 } });
  assert.is(c.maxSaves, 5);
  assert.equal([c.deadlinesMs.installing, c.deadlinesMs.checking, c.deadlinesMs.arming], [7_200_000, undefined, 1000]);
});

test('the download retry policy: given fields replace the defaults, the others stay', () => {
  assert.equal(parseMachineConfig({ retry: { maxRetries: 0 } }).retry, { maxRetries: 0, firstDelayMs: 60_000, maxDelayMs: 3_600_000 });
  assert.equal(parseMachineConfig({ retry: { firstDelayMs: 200, maxDelayMs: 400 } }).retry, { maxRetries: 8, firstDelayMs: 200, maxDelayMs: 400 });
});

for (const [bad, field] of [
  [{ maxSaves: 1 }, 'maxSaves'],
  [{ deadlinesMs: { idle: 5 } }, 'deadlinesMs.idle'],
  [{ deadlinesMs: { dancing: 5 } }, 'deadlinesMs.dancing'],
  [{ deadlinesMs: { arming: -1 } }, 'deadlinesMs.arming'],
  [[], 'machine'],
  [{ maxSave: 3 }, 'machine.maxSave'],
  [{ retry: { firstDelayMs: 0 } }, 'machine.retry.firstDelayMs'],
  [{ retry: { firstDelayMs: 5000, maxDelayMs: 1000 } }, 'machine.retry.maxDelayMs'],
  [{ retry: { tries: 3 } }, 'machine.retry.tries'],
] as const) {
  test(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseMachineConfig(bad), (e: unknown) => e instanceof Error && e.message.includes(field)));
}

test.run();
