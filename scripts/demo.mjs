#!/usr/bin/env node
// `npm run demo [-- --devices N] [-- --halt] [-- --keep]`: the README's first command.
// 1. installs the npm dependencies when node_modules is missing (`npm ci`);
// 2. builds the TypeScript (tsc, incremental: fast when nothing changed);
// 3. runs the demo (fleet/src/demo/main.ts): embedded broker and artifact server on
//    127.0.0.1, two ext4 images, a signed release with a delta, simulated devices each
//    running the real agent in its own process, a staged rollout shown live, a summary.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const demo = join(root, 'build', 'fleet', 'src', 'demo', 'main.js');

function step(what, cmd, argv, quiet = false) {
  const started = Date.now();
  const r = spawnSync(cmd, argv, { cwd: root, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0 && quiet) process.stdout.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  console.log(`# ${what}: ${r.status === 0 ? 'done' : `exit ${r.status ?? r.signal}`} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return r.status === 0;
}

if (!existsSync(join(root, 'node_modules'))) {
  if (!step('npm ci (node_modules was missing)', 'npm', ['ci', '--no-audit', '--no-fund'])) process.exit(1);
}
const built = step('build (tsc)', process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], true);
if (!existsSync(demo)) {
  console.error('demo: the build did not produce build/fleet/src/demo/main.js: fix the type errors above');
  process.exit(1);
}
if (!built) console.log('# the build reported type errors (above); running the demo with what it emitted');

const child = spawn(process.execPath, ['--enable-source-maps', demo, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
// Ctrl-C reaches the demo directly (same process group): it stops its agents and removes its files, then exits.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + 2)));
