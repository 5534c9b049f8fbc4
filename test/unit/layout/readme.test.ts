// The README's layout section names every folder a newcomer meets: the top level, agent/src, fleet/src
// and test, one line each; a folder added without a line there fails here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
/** Made by tools, ignored by git (.gitignore). */
const GENERATED = new Set(['node_modules', 'build', 'dist', 'coverage', 'bench-data', '.cache', '.git']);

function folders(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !GENERATED.has(e.name)).map((e) => e.name).sort();
}

/** The folders the layout block lists under `parent` ('' for the top level), by their indentation. */
function listed(parent: string): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /## Layout\n[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const names: string[] = [];
  let under = '';
  for (const line of block.split('\n')) {
    const m = /^( *)(\S+)\/\s/.exec(line);
    if (m === null) continue;
    const [, indent = '', name = ''] = m;
    if (indent === '') under = name;
    if ((parent === '' && indent === '') || (indent !== '' && under === parent)) names.push(name);
  }
  return names.sort();
}

for (const dir of ['agent/src', 'fleet/src', 'test']) {
  test(`every folder of ${dir} has its line`, () => {
    assert.equal(listed(dir), folders(dir));
  });
}

test('every top-level folder has its line', () => {
  const top = folders('').filter((d) => d !== 'agent' && d !== 'fleet');
  assert.equal(listed('').filter((d) => !d.includes('/')), top);
});

test.run();
