// Issue 19, "a retried trial that had already failed", on a simulated device (real ports: file-backed
// slots and env, bootloader/boot.cmd in the simulator): release 2 armed on B; B's boots and then A's
// pass without the agent (a watchdog reset or a power cut during boot) until the tries run out. The
// trial failed: post-boot reverts and reports it, never reboots into B again to commit it.
// And boots that pass while an update is reported spend the committed slot's tries: post-boot refills them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeJournal } from '../../../agent/src/machine/index.js';
import { tempDir } from '../../support/tools.js';
import { agent, agentOk, armedTwo, statusJson } from '../../support/sim-flow.js';

const CONFIG = 'dev/agent.json';

/** `unseen` power-ons without post-boot, then one with it (exit 1 when it reverted the update); what that one printed. */
async function bootsUnseenThenAgent(dir: string, unseen: number, reverts = true): Promise<string> {
  for (let i = 0; i < unseen; i++) await agentOk(dir, '--config', CONFIG, 'sim', 'boot', '--no-agent');
  const r = await agent(dir, '--config', CONFIG, 'sim', 'boot');
  assert.is(r.code, reverts ? 1 : 0, r.stdout + r.stderr);
  return r.stdout + r.stderr;
}

const cases = [
  // B 3 tries, A 2 of its 3: post-boot runs in A's last try, every slot spent, so B is first again
  { unseen: 5, what: 'the fall-back slot\'s last try sees the trial slot primary again' },
  // one more: the script refills both and boots B afresh; its tries ran out all the same
  { unseen: 6, what: 'the script refilled the slots and booted the trial slot afresh' },
];

for (const c of cases) {
  test(`${c.unseen} boots without the agent (${c.what}): the trial is reverted and reported, not retried`, async () => {
    const t = tempDir();
    try {
      await armedTwo(t.dir);
      const out = await bootsUnseenThenAgent(t.dir, c.unseen);
      assert.not.match(out, 'committed slot B', out);
      const s = await statusJson(t.dir, CONFIG);
      assert.equal([s['booted'], s['primary'], s['version'], s['phase']], ['A', 'A', 1, 'idle'], JSON.stringify(s));
      const last = s['lastUpdate'];
      assert.ok(typeof last === 'object' && last !== null && 'outcome' in last && last.outcome === 'reverted', JSON.stringify(last));
      assert.match(JSON.stringify(last), 'trial boot of slot B');
      const slots = s['slots'];
      assert.ok(typeof slots === 'object' && slots !== null && 'B' in slots && JSON.stringify(slots.B).includes('"state":"bad"'), JSON.stringify(slots));
    } finally { t.cleanup(); }
  });
}

test('an agent restart in the arming boot still reboots into the trial (the same boot, not a failed trial)', async () => {
  const t = tempDir();
  try {
    await armedTwo(t.dir);
    // post-boot in the boot that armed: no reboot happened, the trial has not begun
    const r = await agentOk(t.dir, '--config', CONFIG, 'post-boot');
    assert.match(r.stdout + r.stderr, 'checking -reboot-> rebooting');
  } finally { t.cleanup(); }
});

test('a report cut over several boots (the committed slot spends a try each) ends with that slot still booting next', async () => {
  const t = tempDir();
  try {
    await armedTwo(t.dir);
    await agentOk(t.dir, '--config', CONFIG, 'mark-good');
    // The journal a power cut in `reporting` leaves (after the commit), then three boots of B, post-boot in the last
    const noticeBase64 = readFileSync(join(t.dir, 'rel2/notice.json')).toString('base64');
    writeFileSync(join(t.dir, 'dev/data/journal.json'), encodeJournal({ state: 'reporting', highestSequence: 1,
      job: { noticeBase64, version: 2, sequence: 1, target: 'B', previous: 'A', progress: 0, saves: { reporting: 1 }, outcome: 'installed' } }));
    await bootsUnseenThenAgent(t.dir, 2, false);
    const s = await statusJson(t.dir, CONFIG);
    assert.equal([s['booted'], s['primary'], s['version'], s['phase']], ['B', 'B', 2, 'idle'], JSON.stringify(s));
    assert.match(JSON.stringify(s['slots']), /"B":\{"state":"good","triesLeft":3/);
  } finally { t.cleanup(); }
});

test.run();
