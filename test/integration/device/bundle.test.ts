import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/mosquitto.js';
import { debianNode18, repoRoot } from '../../support/node18.js';
import { agentOk, fleetOk, writeImage } from '../../support/sim-flow.js';
import { tempDir } from '../../support/tools.js';
import { skipNamed } from '../../support/skip.js';

const bundle = join(repoRoot, 'dist', 'device', 'ota-agent.mjs');

test.before(() => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build-device.mjs'), '--no-tsc'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test('the device bundle is one file under 1 MiB with no fleet or dev code', () => {
  const size = statSync(bundle).size;
  assert.ok(size <= 1024 * 1024, `bundle is ${size} bytes`);
  const meta: unknown = JSON.parse(readFileSync(join(repoRoot, 'dist', 'device', 'meta.json'), 'utf8'));
  assert.ok(typeof meta === 'object' && meta !== null && 'inputs' in meta);
  const inputs = Object.keys((meta as { inputs: Record<string, unknown> }).inputs);
  assert.ok(inputs.some((p) => p.includes('agent/src/cli')), 'the agent CLI is in');
  assert.equal(inputs.filter((p) => p.includes('fleet/') || p.includes('node_modules/aedes')), []);
  // What a device never runs is left out (scripts/build-device.mjs): WebSocket and SOCKS transports, the userland streams.
  assert.equal(inputs.filter((p) => /node_modules\/(ws|socks|ip-address|readable-stream)\//.test(p)), []);
  assert.ok(inputs.some((p) => p.includes('node_modules/mqtt/')), 'mqtt.js is in');
});

test('the bundle runs on the Node.js of this machine', () => {
  const r = spawnSync(process.execPath, [bundle, 'version'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ota-agent /);
});

test('the bundle carries package.json\'s version, away from the source tree too', () => {
  const t = tempDir();
  try {
    const alone = join(t.dir, 'ota-agent.mjs');
    copyFileSync(bundle, alone);
    const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const version: unknown = typeof pkg === 'object' && pkg !== null ? Reflect.get(pkg, 'version') : undefined;
    assert.type(version, 'string');
    for (const argv of [['--version'], ['version']]) {
      const r = spawnSync(process.execPath, [alone, ...argv], { encoding: 'utf8', cwd: t.dir });
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.split(' ')[1], version, r.stdout);
    }
  } finally {
    t.cleanup();
  }
});

/** Run the bundle's daemon with `--trace-opt` until it has retried the broker `retries` times; returns its output. */
async function idleDaemonTrace(dir: string, retries: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--trace-opt', bundle, '--config', 'dev/agent.json', 'run', '--reboot', 'stop'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    const take = (b: Buffer): void => {
      out += b.toString();
      if (out.split('mqtt: waiting').length > retries) resolve();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    void exited.then(() => resolve());
  });
  child.kill('SIGTERM');
  return { code: await exited, out };
}

// V8's first optimizing compilation costs a process about 3.5 MiB of RSS for good (bench/README.md,
// footprint), which the idle goal (<= 1.3 x a bare node) cannot afford: the idle daemon must run no
// JavaScript that hot. `--trace-opt` names every function V8 optimizes. (The unbundled build/ is no
// guide: Node's module loader itself gets hot resolving hundreds of files.)
test('the bundled daemon, idle through 4 broker retries, optimizes no function', async () => {
  const t = tempDir();
  try {
    await fleetOk(t.dir, 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    // Nothing listens on the broker's port: the daemon resumes, reads the env and retries with backoff.
    await agentOk(t.dir, 'sim', 'create', 'dev', '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', 'v1.img', '--version', '1',
      '--mqtt-url', `mqtt://127.0.0.1:${await freePort()}`, '--artifacts-url', 'http://127.0.0.1:9/');
    const run = await idleDaemonTrace(t.dir, 4);
    assert.is(run.code, 0, run.out);
    assert.ok(run.out.split('mqtt: waiting').length > 4, run.out);
    const optimized = run.out.split('\n').filter((l) => l.includes('completed compiling') || l.includes('completed optimizing'));
    assert.equal(optimized, [], 'functions optimized while idle');
  } finally {
    t.cleanup();
  }
});

const node18 = debianNode18();
if ('path' in node18) {
  test("the bundle runs on Debian 12's Node.js 18", () => {
    const r = spawnSync(node18.path, [bundle, 'version'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /\(node 18\.\d+\.\d+\)/);
  });
} else {
  skipNamed(test, "the bundle runs on Debian 12's Node.js 18", node18.reason);
}

test.run();
