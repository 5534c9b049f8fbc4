// The fleet's embedded default and the real agent: `ota-fleet publish` (artifacts copied into the
// served directory, the notice retained on the rollout topic of the embedded aedes broker, MQTT
// 3.1.1) reaches `ota-agent run` on a simulated device (the real bin, a child process), which
// installs, reboots through the simulator, passes its health check and commits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveArtifacts, startBroker } from '../../../fleet/src/serve/index.js';
import { agentOk, fleetOk, patchImage, statusJson, writeImage } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';

const bin = fileURLToPath(new URL('../../../../bin/ota-agent.js', import.meta.url));

test('ota-fleet publish on the embedded broker -> ota-agent run installs and commits', async () => {
  const t = tempDir();
  const broker = await startBroker();
  mkdirSync(join(t.dir, 'served'));
  const server = await serveArtifacts(join(t.dir, 'served'));
  let daemon: ChildProcess | undefined;
  let out = '';
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 4096, 'two');
    await fleetOk(t.dir, 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'sim-board', '--keys', 'keys', '--out', 'rel2');
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1',
      '--mqtt-url', broker.url, '--mqtt-protocol', '4', '--artifacts-url', server.url);
    const child = spawn(process.execPath, [bin, '--config', 'dev/agent.json', 'run'], { cwd: t.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon = child;
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    await fleetOk(t.dir, 'publish', '--release', 'rel2', '--broker', broker.url, '--artifacts-url', server.url, '--copy-to', 'served', '--all');
    const until = Date.now() + 30_000;
    let s = await statusJson(t.dir, 'dev/agent.json');
    while (!(s['phase'] === 'idle' && s['lastUpdate'] !== null) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      s = await statusJson(t.dir, 'dev/agent.json');
    }
    assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }], out);
    // The retained notice and the served rollout/sim-board.json (the resync at connect) are the same notice:
    // whichever the daemon reads first starts the install, the other is a duplicate.
    assert.match(out, /notice from (rollout|resync): started/);
    assert.is(out.split(': started').length - 1, 1, out);
  } finally {
    daemon?.kill('SIGKILL');
    await server.close();
    await broker.close();
    t.cleanup();
  }
});

test.run();
