/**
 * The uvu suite of scenario 4 for one board (power-cut-fat / power-cut-nor.test.ts): builds the
 * image, opens the fleet, runs the cuts (power-cut.ts), prints the table and checks every phase
 * was cut. Cuts per board: OTA_QEMU_CUTS (default 11, so a run of both boards makes 22).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { MOSQUITTO } from '../support/mosquitto.js';
import { tempDir } from '../support/tools.js';
import { QEMU_BOARDS, boardRuns, ensureImage, openGuestFleet, type ImageLayout } from '../support/qemu/index.js';
import { printTable, runPowerCuts } from './power-cut.js';
import { PHASES, cutPlan, runSeed } from './power-cut-plan.js';
import { gateIn } from '../support/skip.js';

/** Registers and runs the power-cut suite on QEMU_BOARDS[index]. */
export function powerCutSuite(index: number): void {
  const c = QEMU_BOARDS[index];
  if (c === undefined) throw new Error(`no board ${index}`);
  const temp = tempDir('ota-qemu-power-cut-');
  process.on('exit', () => temp.cleanup());
  const s = suite(`power cuts, ${c.title}`);
  const { skip, qemu } = boardRuns(c, ['socat', MOSQUITTO]);
  const cuts = Number(process.env['OTA_QEMU_CUTS'] ?? 11);
  // each board draws its own plan from the run's seed
  const seed = runSeed();
  const boardSeed = (seed + index * 7919) >>> 0;
  let layout: ImageLayout | undefined;
  s.before(() => {
    if (skip === undefined) layout = ensureImage(c.board);
  });
  const t = gateIn(s, skip, `power cuts, ${c.title}`);

  t('the plan cuts every phase, in the order the update meets them', () => {
    const plan = cutPlan(boardSeed, cuts);
    assert.is(plan.length, cuts);
    for (const phase of PHASES) assert.ok(plan.some((p) => p.phase === phase), `the plan cuts in ${phase}`);
  });

  t(`${cuts} power cuts across download, slot write, env write and commit: every boot is a verified slot, the agent converges`, async () => {
    if (layout === undefined) throw new Error(`the image of ${c.board} was not built`);
    console.log(`# ${c.board}: power-cut seed ${seed} (replay with OTA_QEMU_SEED=${seed})`);
    const work = join(temp.dir, c.board);
    const fleet = await openGuestFleet(join(work, 'fleet'));
    try {
      const result = await runPowerCuts({ layout, fleet, workDir: work, qemu, seed: boardSeed, cuts, board: c.board });
      printTable(c.board, seed, result);
      const cutsMade = [...result.landed.values()].reduce((a, b) => a + b, 0);
      assert.ok(cutsMade >= cuts, `${cutsMade} cuts made, ${cuts} planned`);
      for (const phase of PHASES) assert.ok((result.landed.get(phase) ?? 0) > 0, `a cut landed in ${phase}`);
    } finally {
      await fleet.close();
    }
  });

  s.run();
}
