import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_NOT_PROVISIONED, main, runCli, type Register } from '../../../agent/src/cli/index.js';
import { repoPath } from '../../support/boot-device.js';
import { runMain, tempDir } from '../../support/tools.js';

test('version prints the agent version', async () => {
  const r = await runMain(main, ['version']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^ota-agent \d+\.\d+\.\d+ \(node /);
});

test('an unknown command is a usage error with exit code 2', async () => {
  const r = await runMain(main, ['no-such-command']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /ota-agent: /);
  assert.is(r.stdout, '');
});

test('an unprovisioned device (no agent config) exits 78, which the shipped unit does not restart on; other failures exit 1', async () => {
  const temp = tempDir('ota-cli-exit-');
  try {
    for (const command of ['run', 'post-boot', 'status']) {
      const r = await runMain(main, [command, '--config', join(temp.dir, 'agent.json')]);
      assert.is(r.code, EXIT_NOT_PROVISIONED, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /\[CONFIG_MISSING\]\n$/);
    }
    writeFileSync(join(temp.dir, 'agent.json'), '{');
    const bad = await runMain(main, ['run', '--config', join(temp.dir, 'agent.json')]);
    assert.is(bad.code, 1, `a config that is there but broken is a failure, not "unprovisioned": ${bad.stderr}`);
    const unit = readFileSync(repoPath('agent/systemd/ota-agent.service'), 'utf8');
    assert.match(unit, new RegExp(`^RestartPreventExitStatus=${EXIT_NOT_PROVISIONED}$`, 'm'), 'the unit names the same code');
  } finally {
    temp.cleanup();
  }
});

test('no command at all is a usage error', async () => {
  const r = await runMain(main, []);
  assert.is(r.code, 2);
  assert.match(r.stderr, /name a command/);
});

test('--help prints usage to stdout and exits 0', async () => {
  const r = await runMain(main, ['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /version/);
});

test('a failed argument check is a usage error and the handler does not run', async () => {
  let ran = false;
  const checked: Register = (y) => y.command('go', 'test command',
    (b) => b.option('n', { type: 'number' }).check((a) => { if (a.n === 0) throw new Error('n must not be 0'); return true; }),
    () => { ran = true; });
  const r = await runMain((argv, ctx) => runCli('t', argv, ctx, [checked]), ['go', '--n', '0']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /n must not be 0/);
  assert.is(ran, false);
});

test('a single-valued flag given twice is a usage error naming it; a repeatable one and variadic positionals take every value', async () => {
  const seen: unknown[] = [];
  const cmd: Register = (y) => y.command('go [names..]', 'test command',
    (b) => b.positional('names', { type: 'string', array: true }).option('out-dir', { type: 'string' }).option('base-url', { type: 'string', array: true }),
    (a) => { seen.push([a.outDir, a.baseUrl, a.names]); });
  const run = (argv: string[]): Promise<{ code: number; stderr: string }> => runMain((v, ctx) => runCli('t', v, ctx, [cmd]), argv);
  const twice = await run(['go', '--out-dir', 'a', '--out-dir', 'b']);
  assert.is(twice.code, 2);
  assert.match(twice.stderr, 't: --out-dir given more than once: give it once');
  assert.equal(seen, [], 'the handler did not run');
  const ok = await run(['go', 'x', 'y', '--out-dir', 'a', '--base-url', 'm1', '--base-url', 'm2']);
  assert.is(ok.code, 0, ok.stderr);
  assert.equal(seen, [['a', ['m1', 'm2'], ['x', 'y']]]);
  // the shipped commands: a duplicate path flag was an untyped crash ("paths[1] must be of type string")
  const agent = await runMain(main, ['status', '--config', 'a', '--config', 'b']);
  assert.is(agent.code, 2);
  assert.match(agent.stderr, '--config given more than once');
});

test('an error thrown by a handler is reported with exit code 1', async () => {
  const failing: Register = (y) => y.command('go', 'test command', {}, () => { throw new Error('boom'); });
  const r = await runMain((argv, ctx) => runCli('t', argv, ctx, [failing]), ['go']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /unexpected error: boom/);
});

test.run();
