// doctor shows when the device's trusted root expires, warns in its last 30 days and fails once
// it has expired (every notice would be refused), on an injected clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { agentOk, writeImage } from '../../support/sim-flow.js';
import { runMain, tempDir } from '../../support/tools.js';

const T0 = Date.parse('2027-01-01T00:00:00Z');
const DAY = 86_400_000;

test('doctor: the trusted root\'s expiry, a warning in its last 30 days, a failure after', async () => {
  const t = tempDir();
  try {
    assert.is((await runMain(fleetMain, ['keygen', '--out', 'keys'], { cwd: t.dir, now: new Date(T0) })).code, 0);
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1');
    const doctorAt = (days: number) => runMain(agentMain, ['--config', 'dev/agent.json', 'doctor', '--no-broker'], { cwd: t.dir, now: new Date(T0 + days * DAY) });
    const fresh = await doctorAt(1);
    assert.is(fresh.code, 0, fresh.stdout + fresh.stderr);
    assert.match(fresh.stdout, /^ok {3}trusted root: root v1, installed version floor 1; expires 2028-01-01T00:00:00\.000Z$/m);
    const late = await doctorAt(350);
    assert.is(late.code, 0, 'a warning is not a failure');
    assert.match(late.stdout, /^warn trusted root: .*root v1 expires 2028-01-01T00:00:00\.000Z \(in 15 days\): ship a rotated root \(ota-fleet root rotate\) before then$/m);
    const dead = await doctorAt(366);
    assert.is(dead.code, 1);
    assert.match(dead.stdout, /^fail trusted root: .*expired 2028-01-01T00:00:00\.000Z: every notice is refused/m);
  } finally { t.cleanup(); }
});

test.run();
