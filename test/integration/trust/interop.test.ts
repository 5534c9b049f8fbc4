/**
 * Interop with Debian's python3-securesystemslib (the library TUF signs with):
 * metadata it signs verifies with ours, and metadata we sign verifies with it.
 * Runs /usr/bin/python3 (Debian's, which has the module), not a python3 on PATH.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as agent } from '../../../agent/src/cli/index.js';
import { loadRoot, verifyNotice } from '../../../agent/src/trust/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { hasTool, runMain, tempDir } from '../../support/tools.js';
import { gate } from '../../support/skip.js';
import { BUILD_TIME_MS, NOW_MS } from '../../support/trust.js';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../../../test/fixtures/trust/sslib_interop.py', import.meta.url));

function sslibVersion(): string | undefined {
  if (!hasTool(PYTHON)) return undefined;
  // ed25519 in securesystemslib needs PyNaCl, only a Recommends of the Debian package
  const r = spawnSync(PYTHON, ['-c', 'import nacl, securesystemslib; print(securesystemslib.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const version = sslibVersion();
if (version !== undefined) console.log(`# securesystemslib ${version}`);
const maybe = gate(version === undefined ? `${PYTHON} cannot import securesystemslib with ed25519 (apt-get install python3-securesystemslib python3-nacl)` : undefined);

function python(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(PYTHON, [script, ...args], { encoding: 'utf8' });
}

maybe('securesystemslib signs a root and a notice; our verifier accepts them', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = python(['sign', dir, 'hw-py', '2030-01-01T00:00:00Z']);
    assert.is(r.status, 0, r.stderr);
    const trusted = loadRoot(readFileSync(join(dir, 'root.json')), 'python root');
    const accepted = verifyNotice({
      notice: readFileSync(join(dir, 'notice.json')),
      state: { trusted, installedVersion: 3, rolloutVersion: 0, timeFloorMs: 0, failedVersions: [] },
      device: { hardwareId: 'hw-py' }, nowMs: NOW_MS, buildTimeMs: BUILD_TIME_MS,
    });
    assert.is(accepted.release.version, 4);
    assert.is(accepted.rollout.spreadSeconds, 60);
    const cli = await runMain(agent, ['verify', 'notice.json', '--root', 'root.json', '--hardware', 'hw-py', '--now', '2030-01-01T00:00:00Z'], { cwd: dir });
    assert.is(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^accepted: release 4 for hw-py/);
  } finally {
    cleanup();
  }
});

maybe('we sign (ota-fleet keygen, release, root rotate, rollout); securesystemslib verifies every signature and our canonical bytes', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'img.bin'), Buffer.alloc(10_000, 7));
    const now = new Date(NOW_MS);
    for (const argv of [
      ['keygen', '--out', 'KEYS', '--release-keys', '2', '--release-threshold', '2'],
      ['release', '--image', 'img.bin', '--version', '5', '--hardware', 'hw-a', '--keys', 'KEYS', '--out', 'R'],
      ['root', 'rotate', '--keys', 'KEYS', '--rotate', 'root'],
      ['rollout', '--release', 'R', '--keys', 'KEYS', '--device', 'dev-9'],
    ]) {
      const r = await runMain(fleet, argv, { cwd: dir, now });
      assert.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    }
    // root v1 (1 signature), root v2 (2, old and new root key), and the notice: its copy of root v2 (2),
    // the release (2 of 2 release keys) and the rollout (1).
    const r = python(['check', join(dir, 'KEYS/roots/1.root.json'), join(dir, 'KEYS/root.json'), join(dir, 'R/notice.json')]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /verified 8 signatures/);
    // The python checker is not a rubber stamp: one altered byte in a signed part fails it.
    const notice = readFileSync(join(dir, 'R/notice.json'), 'utf8');
    writeFileSync(join(dir, 'bad.json'), notice.replace('"hardware":["hw-a"]', '"hardware":["hw-b"]'));
    assert.is.not(python(['check', join(dir, 'KEYS/roots/1.root.json'), join(dir, 'bad.json')]).status, 0);
  } finally {
    cleanup();
  }
});

test.run();
