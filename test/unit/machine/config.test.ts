/** Machine config: defaults, overrides, removing a deadline, refusals. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DEADLINES_MS, parseMachineConfig } from '../../../agent/src/machine/index.js';

test('defaults', () => {
  assert.equal(parseMachineConfig(undefined), { maxSaves: 3, deadlinesMs: DEFAULT_DEADLINES_MS });
  assert.is(DEFAULT_DEADLINES_MS.installing, undefined, 'no default deadline for a long download');
});

test('override, add and remove deadlines', () => {
  const c = parseMachineConfig({ maxSaves: 5, deadlinesMs: { installing: 7_200_000, checking: null, arming: 1000 } });
  assert.is(c.maxSaves, 5);
  assert.equal([c.deadlinesMs.installing, c.deadlinesMs.checking, c.deadlinesMs.arming], [7_200_000, undefined, 1000]);
});

for (const [bad, field] of [
  [{ maxSaves: 1 }, 'maxSaves'],
  [{ deadlinesMs: { idle: 5 } }, 'deadlinesMs.idle'],
  [{ deadlinesMs: { dancing: 5 } }, 'deadlinesMs.dancing'],
  [{ deadlinesMs: { arming: -1 } }, 'deadlinesMs.arming'],
  [[], 'machine'],
  [{ maxSave: 3 }, 'machine.maxSave'],
] as const) {
  test(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseMachineConfig(bad), (e: unknown) => e instanceof Error && e.message.includes(field)));
}

test.run();
