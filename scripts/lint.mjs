#!/usr/bin/env node
// `npm run lint`: typescript-eslint's type-aware rules (eslint.config.mjs) over agent, fleet, test and bench.
// Prints each problem as `path:line:col  rule  message`, then one line with the count and the time taken;
// exits 1 on any problem. scripts/test.mjs runs it before the tests.
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const startedMs = Date.now();
const r = spawnSync(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '--max-warnings', '0',
  'agent/src', 'fleet/src', 'test', 'bench'], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
let results = [];
try { results = JSON.parse(r.stdout); } catch { /* eslint itself failed: its stderr is printed below */ }
const problems = results.flatMap((f) => f.messages.map((m) => `${relative(root, f.filePath)}:${m.line}:${m.column}  ${m.ruleId ?? 'eslint'}  ${m.message}`));
for (const line of problems) console.log(`lint: ${line}`);
if (r.status !== 0 && problems.length === 0) console.log(`lint: eslint failed: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`);
console.log(`# lint: ${problems.length} problem(s) in ${results.length} files, ${seconds} s`);
process.exit(r.status === 0 ? 0 : 1);
