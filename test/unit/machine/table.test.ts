/** The table itself: complete, reachable, and safe about where failures lead. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { corruptJournalResume, machine, states } from '../../../agent/src/machine/index.js';
import type { State } from '../../../agent/src/machine/index.js';

const armed: readonly State[] = ['arming', 'rebooting', 'checking', 'committing'];

test('every working state handles fail, timeout and loop', () => {
  for (const s of states.filter((x) => x !== 'idle')) {
    for (const e of ['fail', 'timeout', 'loop'] as const) assert.ok(machine[s].on[e] !== undefined, `${s} on ${e}`);
  }
});

test('every state is reachable from idle', () => {
  const seen = new Set<State>(['idle']);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of [...seen]) {
      for (const to of Object.values(machine[s].on)) if (to !== undefined && !seen.has(to)) { seen.add(to); grew = true; }
    }
  }
  assert.equal([...seen].sort(), [...states].sort());
});

test('once the env may point at the new slot, every failure leads to reverting', () => {
  for (const s of armed) {
    for (const e of ['fail', 'timeout', 'loop'] as const) assert.is(machine[s].on[e], 'reverting', `${s} on ${e}`);
  }
  assert.is(corruptJournalResume, 'reverting');
});

test('every path ends at idle (reporting is the only way there after notice)', () => {
  for (const s of states) {
    for (const to of Object.values(machine[s].on)) if (to === 'idle') assert.is(s, 'reporting');
  }
});

test('a state that can be saved resumes into a state that is saved again', () => {
  for (const s of states) assert.ok(machine[machine[s].resume].persist, `${s} resumes into ${machine[s].resume}`);
});

test.run();
