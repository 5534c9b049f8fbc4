/**
 * uvu suites of the power-loss harness, shared by the test files under test/integration/power/
 * (one file per release kind, so the runner spreads them over its jobs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gate, missingReason } from './skip.js';
import { missingTools, tempDir } from './tools.js';
import { makeFixture, runScenario, type Fixture, type RunResult, type Scenario } from './power-harness.js';
import { faultCases, killPoints } from './power-scenarios.js';

/** Seeds per scenario. */
export const SEEDS = Number(process.env['OTA_POWER_SEEDS'] ?? 5);
const skip = missingReason(missingTools('the power-loss harness', 'fw_printenv'));

/** A fixture for the file's tests, made once. */
export function fixtureHooks(): { fx: () => Fixture } {
  const t = tempDir('ota-power-');
  let fixture: Fixture | undefined;
  test.before(async () => { if (skip === undefined) fixture = await makeFixture(t.dir); });
  test.after(async () => { await fixture?.server.close(); t.cleanup(); });
  return { fx: () => { if (fixture === undefined) throw new Error('no fixture'); return fixture; } };
}

function summary(results: readonly RunResult[]): string {
  const modes = new Map<string, number>();
  for (const r of results) modes.set(r.cut.mode, (modes.get(r.cut.mode) ?? 0) + 1);
  return `${results.length} runs, cuts: ${[...modes].map(([m, n]) => `${m} ${n}`).join(', ')}; boots to rest: max ${Math.max(...results.map((r) => r.boots))}`;
}

function suite(scenarios: readonly Scenario[], fx: () => Fixture): void {
  const it = gate(skip);
  for (const s of scenarios) {
    it(`${s.name} [${s.release}], ${SEEDS} seeds: power cut, boot, fresh agent to rest; invariants hold`, async () => {
      const results: RunResult[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) results.push(await runScenario(fx(), s, seed));
      const bad = results.flatMap((r) => r.violations.map((v) => `${v}\n  child output:\n${r.childOutput.replace(/^/gm, '    ')}`));
      assert.is(bad.length, 0, bad.join('\n'));
      console.log(`# ${s.name} [${s.release}]: ${summary(results)}`);
    });
  }
}

/** Every kill point of the issue for `release`. */
export function runKillPoints(release: Scenario['release']): void {
  const { fx } = fixtureHooks();
  suite(killPoints(release), fx);
  test.run();
}

/** The injected-fault cases for `release`. */
export function runFaults(release: Scenario['release']): void {
  const { fx } = fixtureHooks();
  suite(faultCases(release), fx);
  test.run();
}
