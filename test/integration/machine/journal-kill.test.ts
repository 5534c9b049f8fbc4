/**
 * The journal under real process death: a child runs the machine with the file
 * journal and a file-backed fake device; the parent SIGKILLs it right after it
 * saves each persisted state (several seeds vary where the kill lands), powers
 * the device on (boot-script model), restarts the agent, and checks that it
 * converges: one report, the journal at rest, the bootloader booting a good slot.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileJournal } from '../../../agent/src/machine/index.js';
import type { State } from '../../../agent/src/machine/index.js';
import { freshDevice, nextBoot, parseDevice, powerOn } from '../../support/fake-device.js';
import { tempDir } from '../../support/tools.js';

const child = fileURLToPath(new URL('../../support/machine-child.js', import.meta.url));
const SEEDS = [0, 1, 3]; // pause after the save: 0 ms lets the kill land inside the handler or later
const REBOOT_EXIT = 3;

/** Run the child once; kill it right after it announces saving `killAt`. */
function runChild(dir: string, killAt: State | undefined, seed: number, unhealthy: boolean): Promise<{ killed: boolean; code: number | null; out: string }> {
  const args = [child, dir, ...(killAt === undefined ? [] : [killAt, String(seed)]), ...(unhealthy ? ['--unhealthy'] : [])];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let killed = false;
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!killed && killAt !== undefined && out.includes(`saved ${killAt}\n`)) { killed = true; p.kill('SIGKILL'); }
    });
    p.on('close', (code) => resolve({ killed, code, out }));
  });
}

function powerCycle(dir: string): void {
  const file = join(dir, 'device.json');
  const d = parseDevice(readFileSync(file, 'utf8'));
  powerOn(d);
  writeFileSync(file, JSON.stringify(d));
}

async function converge(killAt: State, seed: number, unhealthy: boolean): Promise<void> {
  const t = tempDir('ota-kill-');
  try {
    writeFileSync(join(t.dir, 'device.json'), JSON.stringify(freshDevice()));
    let killedOnce = false;
    for (let run = 0; ; run++) {
      assert.ok(run < 8, `no convergence after ${run} restarts (kill at ${killAt}, seed ${seed})`);
      const r = await runChild(t.dir, killedOnce ? undefined : killAt, seed, unhealthy);
      killedOnce ||= r.killed;
      if (r.code === 0) { assert.match(r.out, /rest (installed|reverted)\n/); break; }
      assert.ok(r.killed || r.code === REBOOT_EXIT, `child failed: code ${String(r.code)}\n${r.out}`);
      powerCycle(t.dir);
    }
    assert.ok(killedOnce, `the child never saved ${killAt}`);
    const d = parseDevice(readFileSync(join(t.dir, 'device.json'), 'utf8'));
    const want = unhealthy ? 'A' : 'B';
    assert.is(d.booted, want, 'running the expected slot');
    assert.is(nextBoot(d), want, 'the bootloader boots the running slot');
    assert.is(d.slots[want]?.state, 'good');
    if (!unhealthy) assert.is(d.slots['B']?.content, 'v2-image', 'the committed slot holds the complete image');
    // Reporting is at least once: a kill that lands after `reporting`'s handler sent the report and before the
    // journal saved `idle` makes the restarted agent report again (it cannot know the report went out). Only
    // that kill may repeat it, and every report says the same.
    const outcomes = d.reports.map((x) => x.outcome);
    const expected = unhealthy ? 'reverted' : 'installed';
    assert.ok(outcomes.length >= 1 && outcomes.every((o) => o === expected), `reports: ${outcomes.join(', ')}`);
    assert.ok(outcomes.length === 1 || (killAt === 'reporting' && outcomes.length === 2), `reported ${outcomes.length} times after a kill at ${killAt}`);
    const loaded = await new FileJournal(join(t.dir, 'journal.json')).load();
    assert.is(loaded.kind === 'ok' && loaded.record.state, 'idle');
  } finally {
    t.cleanup();
  }
}

const healthyKills: State[] = ['verifying', 'installing', 'verifyingSlot', 'arming', 'rebooting', 'checking', 'committing', 'reporting'];
const revertKills: State[] = ['checking', 'reverting', 'rebootingBack', 'reporting'];

for (const killAt of healthyKills) {
  test(`SIGKILL after saving ${killAt}: converges to the new slot (seeds ${SEEDS.join(',')})`, async () => {
    for (const seed of SEEDS) await converge(killAt, seed, false);
  });
}
for (const killAt of revertKills) {
  test(`SIGKILL after saving ${killAt} on an unhealthy slot: converges back to the old slot`, async () => {
    for (const seed of SEEDS) await converge(killAt, seed, true);
  });
}

test.run();
