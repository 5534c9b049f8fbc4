#!/usr/bin/env node
// `npm run build:device [-- --out DIR] [--no-tsc]`: the agent a device runs with nothing but Node.js 18+ installed.
// One bundled ESM file (dist/device/ota-agent.mjs) plus the systemd units and the boot script;
// no fleet code, no dev dependencies. Fails if any fleet module or fleet-only dependency slipped in.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outFlag = process.argv.indexOf('--out'); // another folder than dist/device (the QEMU image builder's own)
const out = outFlag > 0 && process.argv[outFlag + 1] !== undefined ? resolve(process.argv[outFlag + 1]) : join(root, 'dist', 'device');
const skipTsc = process.argv.includes('--no-tsc'); // the test runner has built already
const tsc = skipTsc ? { status: 0 } : spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(1);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'bin', 'ota-agent.js')],
  outfile: join(out, 'ota-agent.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'esm',
  minify: true,
  legalComments: 'linked',
  // The lowest time the device will ever believe (expired metadata stays expired after a clock reset).
  // SOURCE_DATE_EPOCH makes the bundle reproducible.
  define: { OTA_BUILD_TIME: JSON.stringify(new Date(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now()).toISOString()) },
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __otaCreateRequire } from 'node:module'; const require = __otaCreateRequire(import.meta.url);" },
});

const inputs = Object.keys(result.metafile.inputs);
const forbidden = inputs.filter((p) => /(^|\/)fleet\//.test(p) || /node_modules\/(aedes|typescript|uvu|c8|fast-check|esbuild)\//.test(p));
if (forbidden.length > 0) {
  console.error(`build:device: the device bundle must not carry fleet or dev code:\n  ${forbidden.join('\n  ')}`);
  process.exit(1);
}
for (const dir of ['agent/systemd', 'build/bootloader']) {
  if (existsSync(join(root, dir))) cpSync(join(root, dir), join(out, dir.split('/').pop()), { recursive: true });
}
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));
const size = statSync(join(out, 'ota-agent.mjs')).size;
console.log(`${relative(root, join(out, 'ota-agent.mjs'))}: ${size} bytes (${(size / 1024).toFixed(0)} KiB), ${inputs.length} modules`);
