// The README's install section, run as written: every command of its block, in order, each with only the
// flags that keep it inside a temp dir and off the network (named per command below: --prefix for the global
// installs, --offline, --pack-destination, the .deb's --out). `npm install -g ./ota-agent-VERSION.tgz` then
// works with no registry (the tarball carries its runtime dependencies), and both commands run from both
// installs. A command added to the block without its line here fails the test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { recipeCommands, shBlockAfter } from '../../support/readme-commands.js';
import { repoRoot } from '../../support/node18.js';
import { gate, missingReason } from '../../support/skip.js';
import { missingTools, tempDir } from '../../support/tools.js';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const t = tempDir('ota-install-');
const linked = join(t.dir, 'linked');
const packed = join(t.dir, 'packed');
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, npm_config_update_notifier: 'false' };
const npmQuiet = ['--offline', '--no-audit', '--no-fund'];

/** Run `words` in `cwd`; fails on a non-zero exit; returns stdout. */
function ok(words: readonly string[], cwd: string): string {
  const [command = '', ...args] = words;
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.is(r.status, 0, `${words.join(' ')}: exit ${String(r.status)}\n${r.stderr}`);
  return r.stdout;
}

/** What the test does for each command of the block, keyed by the command as written. */
const RUN: Record<string, () => void> = {
  // The clone's own setup, done before any test runs (node_modules, build/): running it here would replace them.
  'npm ci': () => assert.ok(existsSync(join(repoRoot, 'build', 'agent')) && existsSync(join(repoRoot, 'node_modules', 'yargs'))),
  'npm install -g .': () => ok(['npm', 'install', '-g', '.', '--prefix', linked, ...npmQuiet], repoRoot),
  'npm pack': () => ok(['npm', 'pack', '--pack-destination', t.dir], repoRoot),
  [`npm install -g ./ota-agent-${version}.tgz`]: () => ok(['npm', 'install', '-g', `./ota-agent-${version}.tgz`, '--prefix', packed, ...npmQuiet], t.dir),
  'ota-fleet --help': () => helps('ota-fleet'),
  'ota-agent --help': () => helps('ota-agent'),
  'npm run build:deb': () => {
    ok(['npm', 'run', 'build:deb', '--', '--out', join(t.dir, 'deb'), '--no-tsc'], repoRoot);
    assert.ok(existsSync(join(t.dir, 'deb', `ota-agent_${version}_all.deb`)));
  },
};

/** `name --help` from both installs: exit 0 and the command's usage line. */
function helps(name: string): void {
  for (const prefix of [linked, packed]) assert.match(ok([join(prefix, 'bin', name), '--help'], t.dir), new RegExp(`^${name} <command>`));
}

test.after(() => t.cleanup());

gate(missingReason(missingTools('the README install section', 'npm', 'dpkg-deb')))('the README install section runs as written', () => {
  const commands = recipeCommands(shBlockAfter(README, '## Install')).map((c) => c.text);
  assert.ok(commands.length >= 7, commands.join('\n'));
  for (const text of commands) {
    const run = RUN[text];
    if (run === undefined) assert.unreachable(`README install: ${text}: no line in RUN for it`);
    else run();
  }
  // The file names the README shows are the ones the commands made.
  assert.ok(README.includes(`ota-agent-${version}.tgz`) && README.includes(`ota-agent_${version}_all.deb`));
});

test.run();
