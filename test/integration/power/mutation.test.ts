// Mutation checks of the power-loss harness (test/README.md): a copy of the built agent with one
// fsync removed by an exact textual edit must make the harness report an invariant violation,
// while the unmutated build passes the very same scenarios and seeds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { missingTools } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { BUILD_ROOT, runScenario, type Scenario } from '../../support/power-harness.js';
import { killPoints } from '../../support/power-scenarios.js';
import { fixtureHooks, SEEDS } from '../../support/power-suite.js';
import { APPLY_FINISH_FSYNC, ENV_FSYNC, RAW_SLOT_FSYNC, SINK_FSYNC, makeMutant, type Mutation } from '../../support/mutant.js';

const skip = missingReason(missingTools('the power-loss mutation checks', 'fw_printenv'));
const it = gate(skip);
const { fx } = fixtureHooks();

function scenario(release: Scenario['release'], name: string): Scenario {
  const s = killPoints(release).find((k) => k.name === name);
  if (s === undefined) throw new Error(`no kill point ${name}`);
  return s;
}

async function check(mutations: readonly Mutation[], s: Scenario): Promise<void> {
  const mutant = makeMutant(mutations);
  try {
    let caught = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const good = await runScenario(fx(), s, seed, BUILD_ROOT);
      assert.is(good.violations.length, 0, `the unmutated build fails the same run:\n${good.violations.join('\n')}`);
      const bad = await runScenario(fx(), s, seed, mutant.root);
      // A cut that happens to keep the unsynced write (always so for keep-all) cannot expose the mutant.
      if (bad.violations.length > 0) caught++;
    }
    console.log(`# ${mutations.map((m) => m.file).join(' + ')} mutant, ${s.name} [${s.release}]: caught in ${caught} of ${SEEDS} seeds`);
    assert.ok(caught > 0, 'the harness reports no violation for the mutant');
  } finally {
    mutant.cleanup();
  }
}

it('no fsync in the raw slot writer (slots/table.ts): the armed slot is not durable; the harness fails', () =>
  check([RAW_SLOT_FSYNC], scenario('full', 'after arming before reboot')));

it('no per-segment fsync in the delta sink (delta/sink.ts): a resumed apply finds its checkpointed prefix lost; the harness fails', () =>
  check([SINK_FSYNC], scenario('delta', 'mid-apply')));

it('no fsync of the delta slot at all (sink.ts and applier.ts finish): the harness fails', () =>
  check([SINK_FSYNC, APPLY_FINISH_FSYNC], scenario('delta', 'after arming before reboot')));

it('no fsync after an env copy write (bootenv/storage.ts): the arming is lost after the install exited; the harness fails', () =>
  check([ENV_FSYNC], scenario('full', 'after the install exited, before reboot')));

test.run();
