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
/**
 * Modules of dependencies the device agent never runs, replaced by stubs in the bundle: mqtt.js builds its
 * table of transports on the first connect and so runs the WebSocket client's module code (ws, readable-stream
 * duplexes) although the agent config only accepts mqtt:// and mqtts://; its TCP and TLS transports load the
 * SOCKS client for a proxy the device never configures; its timer picker loads a browser Web Worker timer
 * library; `debug` sets up its namespaces and colour detection for logging nobody reads. Their module code
 * costs an idle agent memory (bench:footprint) and nothing else uses them.
 */
const DEVICE_STUBS = [
  { module: /node_modules\/mqtt\/build\/lib\/connect\/ws\.js$/, code: stubThrowing(['streamBuilder', 'browserStreamBuilder'], 'MQTT over WebSocket is not in the device bundle: use mqtt:// or mqtts://') },
  { module: /node_modules\/mqtt\/build\/lib\/connect\/socks\.js$/, code: stubThrowing(['default'], 'a SOCKS proxy (MQTTJS_SOCKS_PROXY) is not supported by the device bundle: unset it') },
  { module: /node_modules\/worker-timers\//, code: stubThrowing(['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'], 'worker timers are for browsers') },
  // mqtt.js and mqtt-packet log through `debug` (DEBUG=mqttjs*): on a device the agent's own log says what happened.
  { module: /node_modules\/debug\/src\/index\.js$/, code: 'module.exports = function debug() { return function log() {}; };\n' },
  // fetch-blob (node-fetch) falls back to it only where globalThis.ReadableStream is missing: Node < 16.5.
  { module: /node_modules\/web-streams-polyfill\//, code: 'throw new Error("ota-agent: the web streams polyfill is not in the device bundle: Node 18+ has web streams");\n' },
];

/** CommonJS source whose `names` exports throw `message` when called. */
function stubThrowing(names, message) {
  const fn = `function () { throw new Error(${JSON.stringify(`ota-agent: ${message}`)}); }`;
  return `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n${names.map((n) => `exports.${n} = ${fn};`).join('\n')}\n`;
}

/**
 * Packages the device takes from Node itself: readable-stream is a userland copy of Node's streams (for
 * browsers) that mqtt.js and bl load at start; on Node 18+ `node:stream` is the same API, already in memory.
 */
const FROM_NODE = { 'readable-stream': 'node:stream' };

/** The esbuild plugin that swaps DEVICE_STUBS in at load time and FROM_NODE at resolve time. */
const deviceStubs = {
  name: 'device-stubs',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${Object.keys(FROM_NODE).join('|')})$`) }, (args) => ({ path: FROM_NODE[args.path], external: true }));
    b.onLoad({ filter: /node_modules[\\/](mqtt|worker-timers|web-streams-polyfill|debug)[\\/]/ }, (args) => {
      const stub = DEVICE_STUBS.find((s) => s.module.test(args.path.replaceAll('\\', '/')));
      return stub === undefined ? undefined : { contents: stub.code, loader: 'js' };
    });
  },
};

const result = await build({
  plugins: [deviceStubs],
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
for (const dir of ['agent/systemd', 'agent/init', 'build/bootloader']) {
  if (existsSync(join(root, dir))) cpSync(join(root, dir), join(out, dir.split('/').pop()), { recursive: true });
}
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));
const size = statSync(join(out, 'ota-agent.mjs')).size;
console.log(`${relative(root, join(out, 'ota-agent.mjs'))}: ${size} bytes (${(size / 1024).toFixed(0)} KiB), ${inputs.length} modules`);
