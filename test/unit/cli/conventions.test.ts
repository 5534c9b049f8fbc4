// The conventions both programs share with rauc, mender and apt: --version, exit 2 for bad
// usage (yargs' and our own USAGE errors), one prefix per error line, help wrapped at words.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { repoRoot } from '../../support/node18.js';
import { runMain } from '../../support/tools.js';

const programs = [['ota-agent', agentMain], ['ota-fleet', fleetMain]] as const;

function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const v: unknown = typeof pkg === 'object' && pkg !== null ? Reflect.get(pkg, 'version') : undefined;
  if (typeof v !== 'string') throw new Error('package.json has no version');
  return v;
}

test('--version and the version command print package.json\'s version on both programs', async () => {
  for (const [name, main] of programs) {
    for (const argv of [['--version'], ['version']]) {
      const r = await runMain(main, argv);
      assert.is(r.code, 0, `${name} ${argv.join(' ')}: ${r.stderr}`);
      assert.is(r.stdout.split(' ').slice(0, 2).join(' '), `${name} ${packageVersion()}`);
    }
  }
});

test('usage errors exit 2 everywhere: yargs\' own and a flag value checked by the command', async () => {
  const cases: [typeof agentMain, string[], RegExp][] = [
    [agentMain, ['verify'], /Not enough non-option arguments/],
    [fleetMain, ['release', '--image', 'x', '--version', '2', '--hardware', 'h', '--keys', 'k', '--out', 'o', '--expires', 'soon'], /--expires: "soon" is not a duration.*\[USAGE\]/],
    [fleetMain, ['status', '--broker', 'mqtt://127.0.0.1:1', '--protocol-version', '7'], /must be 4 \(MQTT 3\.1\.1\) or 5, got 7 \[USAGE\]/],
    [fleetMain, ['rollout'], /--release and --keys are required/],
  ];
  for (const [main, argv, message] of cases) {
    const r = await runMain(main, argv, { cwd: repoRoot });
    assert.is(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\(see ota-(agent|fleet) --help\)\n$/);
  }
});

test('an error line carries the program\'s name once', async () => {
  for (const [name, main] of programs) {
    const r = await runMain(main, []);
    assert.is(r.code, 2);
    assert.is(r.stderr.split('\n')[0], `${name}: name a command`);
  }
  const r = await runMain(fleetMain, ['rollout']);
  assert.not.match(r.stderr, /ota-fleet: ota-fleet/);
  assert.match(r.stderr, /^ota-fleet: rollout: --release and --keys are required/);
});

test('help lines break at spaces, never inside a word, within 100 columns', async () => {
  const cases: [typeof agentMain, string[], string][] = [
    [fleetMain, ['release', '--help'], 'compressed (brotli, per-segment, any otadelta agent applies it) or raw (the image as is)'],
    [fleetMain, ['publish', '--help'], 'check them over HTTP; targets no device unless --all or --device'],
    [agentMain, ['--help'], 'bring-up checks: env and canary, booted slot and root, slot devices, clock, identity, trusted root, data directory, broker'],
  ];
  for (const [main, argv, description] of cases) {
    const r = await runMain(main, argv);
    assert.is(r.code, 0, r.stderr);
    const long = r.stdout.split('\n').filter((l) => l.length > 100);
    assert.equal(long, [], 'lines over 100 columns');
    assert.ok(r.stdout.replace(/\s+/g, ' ').includes(description), `${argv.join(' ')}: "${description}" is not whole in:\n${r.stdout}`);
  }
});

test.run();
