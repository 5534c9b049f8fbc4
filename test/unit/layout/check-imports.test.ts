// scripts/check-imports.mjs: the folder layout's rules (no import cycle between folders, no fleet code
// in device code), run on small source trees written here and on the repository itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const script = join(repoRoot, 'scripts', 'check-imports.mjs');

/** Run the check on a tree of `files` (path -> source); its exit status and what it printed. */
function check(files: Record<string, string>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'ota-imports-'));
  try {
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), source);
    }
    const r = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const layered = {
  'agent/src/errors/index.ts': 'export class OtaError extends Error {}\n',
  'agent/src/boot/index.ts': "import { OtaError } from '../errors/index.js';\nexport { state } from './state.js';\n",
  'agent/src/boot/state.ts': "export const state = 1;\n",
  'agent/src/cli/index.ts': "import { state } from '../boot/index.js';\nimport type { X } from './types.js';\n",
  'fleet/src/release/index.ts': "import { OtaError } from '../../../agent/src/errors/index.js';\n",
};

test('a layered tree passes, silently', () => {
  assert.equal(check(layered), { status: 0, out: '' });
});

test('a three-folder cycle fails and is printed as a chain, with the file of each step', () => {
  const r = check({
    ...layered,
    'agent/src/a/index.ts': "import { b } from '../b/index.js';\n",
    'agent/src/b/index.ts': "export { c } from '../c/deep/c.js';\n",
    'agent/src/c/deep/c.ts': "import { a } from '../../a/index.js';\n",
  });
  assert.is(r.status, 1);
  assert.match(r.out, 'import cycle between folders: agent/src/a -> agent/src/b -> agent/src/c -> agent/src/a');
  assert.match(r.out, '(by agent/src/a/index.ts, agent/src/b/index.ts, agent/src/c/deep/c.ts)');
});

test('a type-only import and a dynamic import close a cycle too', () => {
  const typeOnly = check({ ...layered, 'agent/src/errors/codes.ts': "import type { Slot } from '../boot/index.js';\n" });
  assert.is(typeOnly.status, 1);
  assert.match(typeOnly.out, 'agent/src/boot -> agent/src/errors -> agent/src/boot');
  const dynamic = check({ ...layered, 'agent/src/errors/lazy.ts': "export const f = () => import('../cli/index.js');\n" });
  assert.is(dynamic.status, 1);
  assert.match(dynamic.out, 'agent/src/boot -> agent/src/errors -> agent/src/cli -> agent/src/boot');
});

test('a commented-out import and a bare package import make no edge', () => {
  const r = check({ ...layered, 'agent/src/errors/note.ts': "// import { state } from '../boot/index.js';\n/* import '../cli/index.js'; */\nimport yargs from 'yargs';\n" });
  assert.equal(r, { status: 0, out: '' });
});

test('two separate cycles are both reported', () => {
  const r = check({
    ...layered,
    'fleet/src/release/cycle.ts': "import { x } from '../rollout/index.js';\n",
    'fleet/src/rollout/index.ts': "import { y } from '../release/index.js';\n",
    'agent/src/boot/back.ts': "import { z } from '../cli/index.js';\n",
  });
  assert.is(r.status, 1);
  assert.match(r.out, 'fleet/src/release -> fleet/src/rollout -> fleet/src/release');
  assert.match(r.out, 'agent/src/boot -> agent/src/cli -> agent/src/boot');
  assert.is(r.out.trim().split('\n').length, 2);
});

test('device code importing fleet code fails, naming the file and the import', () => {
  const r = check({ ...layered, 'agent/src/boot/sign.ts': "import { sign } from '../../../fleet/src/release/index.js';\n" });
  assert.is(r.status, 1);
  assert.match(r.out, 'device code imports fleet code: agent/src/boot/sign.ts imports ../../../fleet/src/release/index.js');
});

test('the repository itself has no folder cycle and no fleet code in device code', () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal({ status: r.status, out: `${r.stdout}${r.stderr}` }, { status: 0, out: '' });
});

test.run();
