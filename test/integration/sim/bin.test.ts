// The simulated device through the real bin files (`node bin/ota-fleet.js`, `node bin/ota-agent.js`),
// as a vendor's pipeline would call them: the exact forms of the issue, exit codes and output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fwPrintenv, patchImage, writeImage } from '../../support/sim-flow.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

const skip = missingReason(missingTools('the simulated device through the bin files', 'fw_printenv'));
const it = gate(skip);
const binDir = fileURLToPath(new URL('../../../../bin/', import.meta.url));

function run(cwd: string, program: 'ota-agent' | 'ota-fleet', ...argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(binDir, `${program}.js`), ...argv], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cwd: string, program: 'ota-agent' | 'ota-fleet', ...argv: string[]): string {
  const r = run(cwd, program, ...argv);
  assert.is(r.code, 0, `${program} ${argv.join(' ')} exited ${String(r.code)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

it('sim create, --config ... install, --config ... sim boot, --config ... status --json through node bin/ota-agent.js', () => {
  const t = tempDir();
  try {
    ok(t.dir, 'ota-fleet', 'keygen', '--out', 'keys');
    writeImage(t.dir, 'v1.img', 1024 * 1024);
    patchImage(t.dir, 'v1.img', 'v2.img', 70_000, 'two');
    ok(t.dir, 'ota-fleet', 'release', '--image', 'v2.img', '--version', '2', '--hardware', 'hw1', '--keys', 'keys', '--out', 'rel');
    assert.match(ok(t.dir, 'ota-agent', 'sim', 'create', 'dev', '--hardware', 'hw1', '--root', 'keys/root.json', '--image', 'v1.img', '--env', 'single'), 'booted slot A, committed');
    assert.match(ok(t.dir, 'ota-agent', '--config', 'dev/agent.json', 'install', 'rel'), 'armed its trial boot');
    assert.match(ok(t.dir, 'ota-agent', '--config', 'dev/agent.json', 'sim', 'boot'), 'last update installed (release 2)');
    const status: unknown = JSON.parse(ok(t.dir, 'ota-agent', '--config', 'dev/agent.json', 'status', '--json'));
    assert.ok(typeof status === 'object' && status !== null);
    const s = Object.fromEntries(Object.entries(status));
    assert.equal([s['booted'], s['primary'], s['version'], s['lastUpdate']], ['B', 'B', 2, { outcome: 'installed', version: 2, error: null, errorCode: null, payload: 'full', payloadReason: 'no-delta-for-base' }]);
    assert.is(fwPrintenv(join(t.dir, 'dev/fw_env.config')).get('BOOT_ORDER'), 'B A');
    const human = ok(t.dir, 'ota-agent', '--config', 'dev/agent.json', 'status');
    assert.match(human, 'running release 2 from slot B');

    const bad = run(t.dir, 'ota-agent', '--config', 'dev/agent.json', 'install', 'no-such-release');
    assert.is(bad.code, 1);
    assert.match(bad.stderr, 'ota-agent: release');
    const usage = run(t.dir, 'ota-agent', '--config', 'dev/agent.json', 'sim', 'boot', '--bogus');
    assert.is(usage.code, 2);
  } finally { t.cleanup(); }
});

test.run();
