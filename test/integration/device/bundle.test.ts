import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { debianNode18, repoRoot } from '../../support/node18.js';

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
});

test('the bundle runs on the Node.js of this machine', () => {
  const r = spawnSync(process.execPath, [bundle, 'version'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ota-agent /);
});

const node18 = debianNode18();
if ('path' in node18) {
  test("the bundle runs on Debian 12's Node.js 18", () => {
    const r = spawnSync(node18.path, [bundle, 'version'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /\(node 18\.\d+\.\d+\)/);
  });
} else {
  console.log(`# skipping the Node 18 run: ${node18.reason}`);
  test.skip("the bundle runs on Debian 12's Node.js 18");
}

test.run();
