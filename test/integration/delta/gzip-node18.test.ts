import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '../../support/delta.js';
import { gnuGzipMember, textLike } from '../../support/gnu-gzip.js';
import { debianNode18, repoRoot } from '../../support/node18.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

// Runs on the device's runtime: detect the level, rebuild the member, compare, at each gzip level.
const script = `
import { readFileSync } from 'node:fs';
const { detectGzip, gzipMember } = await import(process.argv[1]);
const results = process.argv.slice(2).map((file) => {
  const original = readFileSync(file);
  const found = detectGzip(original);
  const rebuilt = found && gzipMember(found.raw, { level: found.level, header: found.headerBytes });
  return { level: found?.level, same: rebuilt !== undefined && Buffer.compare(rebuilt, original) === 0 };
});
console.log(JSON.stringify({ node: process.version, results }));
`;

const node18 = debianNode18();
const missing = missingTools('the gzip port on Node 18', 'gzip');
const gated = gate('reason' in node18 ? node18.reason : missingReason(missing));

gated("the gzip port rebuilds gzip -1..-9 output bit-exactly on Debian 12's Node.js 18", () => {
  if ('reason' in node18) return;
  const { dir, cleanup } = tempDir('ota-gzip-node18-');
  try {
    const input = Buffer.concat([textLike(90000, 3), randomBytes(4000, 4)]);
    const files = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((level) => {
      const file = join(dir, `level${level}.gz`);
      writeFileSync(file, gnuGzipMember(input, level, dir));
      return file;
    });
    const entry = join(repoRoot, 'build', 'agent', 'src', 'delta', 'gzip', 'index.js');
    const r = spawnSync(node18.path, ['--input-type=module', '-e', script, entry, ...files], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const out: unknown = JSON.parse(r.stdout);
    assert.ok(typeof out === 'object' && out !== null && 'node' in out && 'results' in out);
    assert.match(String(out.node), /^v18\./);
    // Two levels may write the same stream for an input (here -8 and -9): any level that reproduces it will do.
    const results: unknown = out.results;
    assert.ok(Array.isArray(results) && results.length === 9);
    results.forEach((result: unknown, i) => {
      assert.ok(typeof result === 'object' && result !== null && 'same' in result && result.same === true, `gzip -${i + 1}`);
    });
  } finally {
    cleanup();
  }
});

test.run();
