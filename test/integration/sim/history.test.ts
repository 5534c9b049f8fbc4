// The device's history stays true after manual actions: rollback states the anti-rollback
// consequence when it acts, and status then names the release that runs and the floor above it;
// a refused install leaves the record of the last real update as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agent, agentOk, armedTwo, statusJson } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';

const CONFIG = 'dev/agent.json';

test('rollback says the floor stays; status then shows release 1 running under floor 2; a refused install keeps the last update', async () => {
  const t = tempDir();
  try {
    await armedTwo(t.dir);
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    const before = await statusJson(t.dir, CONFIG);
    assert.equal([before['version'], before['floor']], [2, 2]);
    assert.not.match((await agentOk(t.dir, '--config', CONFIG, 'status')).stdout, 'anti-rollback floor', 'nothing to say at the floor');

    const rb = await agentOk(t.dir, '--config', CONFIG, 'rollback');
    assert.match(rb.stdout, /^slot A \(release 1\) boots next: reboot to run it; the anti-rollback floor stays at release 2: releases up to 2 \(this one included\) are refused, only a release above 2 installs\n$/);
    await agentOk(t.dir, '--config', CONFIG, 'sim', 'boot');
    const text = (await agentOk(t.dir, '--config', CONFIG, 'status')).stdout;
    assert.match(text, /^device dev \(hw\): running release 1 from slot A/);
    assert.match(text, /^ {2}anti-rollback floor: release 2 \(running release 1 below it after a rollback: only a release above 2 installs\)$/m);
    const after = await statusJson(t.dir, CONFIG);
    assert.equal([after['version'], after['floor']], [1, 2]);

    const refused = await agent(t.dir, '--config', CONFIG, 'install', 'rel2');
    assert.is(refused.code, 1, 'release 2 is the floor but does not run: refused, not "already installed"');
    assert.match(refused.stderr, /^ota-agent: release 2 is the anti-rollback floor but release 1 runs \(after a rollback\): install a release above 2 \[rollback\]\n$/);
    assert.equal((await statusJson(t.dir, CONFIG))['lastUpdate'], before['lastUpdate'], 'a refused install writes no history');
  } finally { t.cleanup(); }
});

test.run();
