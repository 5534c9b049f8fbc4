import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../../agent/src/cli/index.js';
import { runMain } from '../../support/tools.js';

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

test.run();
