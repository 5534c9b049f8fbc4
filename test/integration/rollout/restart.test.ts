/**
 * The controller is a separate process SIGKILLed mid-rollout (and, on mosquitto,
 * the broker is restarted without persistence, losing every retained message);
 * a new controller on the same state file resumes where it was: no stage is
 * repeated or skipped, no device installs twice, the rollout completes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadState, type ControllerState } from '../../../fleet/src/rollout/index.js';
import { eachBroker, deviceSpecs, fleetOk, makeRig, openBroker, serveRelease, startDevices } from '../../support/fleet-rig.js';
import { until, untilAsync } from '../../support/sim-fleet.js';

const bin = fileURLToPath(new URL('../../../../bin/ota-fleet.js', import.meta.url));

/** A controller process; `exit` resolves to its exit code, or fails after `timeoutMs` with what it printed. */
function controller(cwd: string, timeoutMs = 120_000): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, 'rollout', 'run', '--tick-ms', '100', '--settle-ms', '300'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => { output += b.toString(); });
  child.stderr?.on('data', (b: Buffer) => { output += b.toString(); });
  const exit = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the controller did not finish in ${timeoutMs} ms; its output:\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  return { child, exit };
}

async function stateOf(dir: string): Promise<ControllerState | undefined> {
  return loadState(join(dir, 'ota-rollout.json')).catch(() => undefined);
}

for (const [kind, it] of eachBroker()) {
  it(`${kind}: a controller killed mid-rollout is restarted and finishes without repeating an install`, async () => {
    const rig = await makeRig();
    const broker = await openBroker(kind);
    const server = await serveRelease(rig);
    const devices = await startDevices(rig, broker, deviceSpecs(20), 60);
    try {
      await fleetOk(rig.dir, ['rollout', 'start', 'R', '--stages', '10,50,100', '--min-devices', '2', '--broker', broker.url, '--keys', 'KEYS',
        '--artifacts-url', server.url, '--id', 'restart-test', '--detach', '--settle-ms', '300']);
      const first = controller(rig.dir);
      await untilAsync(async () => ((await stateOf(rig.dir))?.rollout.stageIndex ?? 0) >= 1, 60_000, 'stage 2');
      first.child.kill('SIGKILL');
      await first.exit;
      const before = await stateOf(rig.dir);
      assert.ok(before !== undefined && before.rollout.status === 'running' && before.rollout.stageIndex >= 1);
      if (broker.restart !== undefined) {
        await broker.restart();
        await devices.allConnected(60_000);
      }
      const second = controller(rig.dir);
      // (on a timeout, what the controller and the devices were at, for the report)
      const code = await second.exit.catch(async (err: unknown) => {
        const st = await stateOf(rig.dir);
        const devs = devices.devices.map((d) => `${d.deviceId}: v${d.version} ${d.connected ? 'connected' : 'offline'} installs [${d.installs.join(',')}] refusals [${d.refusals.join(',')}] last status ${d.lastPublished}`);
        throw new Error(`${String(err)}\nstate: ${JSON.stringify({ rollout: st?.rollout, tally: st?.tally, targetPpm: st?.targetPpm, published: st?.published })}\n${devs.join('\n')}`);
      });
      assert.is(code, 0, 'the restarted controller completes the rollout');
      const after = await stateOf(rig.dir);
      assert.is(after?.rollout.status, 'completed');
      assert.ok((after?.published?.rolloutVersion ?? 0) > (before?.published?.rolloutVersion ?? 0));
      await until(() => devices.devices.every((d) => d.version === 2), 30_000, 'every device on release 2');
      assert.equal(devices.devices.map((d) => d.installs), devices.devices.map(() => [2]), 'no device installed twice');
    } finally {
      await devices.stop();
      await server.close();
      await broker.close();
      rig.cleanup();
    }
  });
}

test.run();
