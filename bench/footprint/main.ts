/**
 * `npm run bench:footprint`: what the device agent costs a device. Prints the size of the
 * device bundle (`npm run build:device`) and the resident memory of `ota-agent run` from that
 * bundle: idle with no broker reachable, idle connected to a real mosquitto on 127.0.0.1, and
 * the peak during a streamed delta install of a small and a large image (notice over MQTT,
 * delta over HTTP Range from the fleet's artifact server, written into slot B of a simulated
 * device), beside a bare `node -e 'setInterval(...)'` measured in the same run. Every figure is
 * taken twice: under the systemd unit's settings (MALLOC_ARENA_MAX=1, --max-semi-space-size=1)
 * and with plain node. Memory is read from /proc/PID/status (VmRSS, VmHWM). Idle figures are taken
 * 3 s after start and again at rest, 20 s later (after V8's memory reducer has shrunk the idle heap,
 * as it does for a daemon that waits for hours); the goal is judged at rest, the install growth
 * from the at-rest figure (the larger growth). Writes
 * bench/results/footprint[-node18][-idle].json. Options: `--sizes 16,256` (image sizes in MiB); `--idle-only` (no
 * installs: connected idle measured on the first size's device); `--node-flags "..."` (other node flags
 * for the unit column, to try them; the bare process gets the same); `--node18` (run on Debian 12's
 * Node 18, the device's runtime, via scripts/debian-node18.sh: needs root).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveArtifacts } from '../../fleet/src/serve/index.js';
import { MOSQUITTO, freePort, haveMosquitto, startMosquitto, type Broker } from '../../test/support/mosquitto.js';
import { Observer } from '../../test/support/mqtt-observer.js';
import { debianNode18 } from '../../test/support/node18.js';
import { tempDir } from '../../test/support/tools.js';
import { agentCli, fleetCli, makeImagePair } from './setup.js';
import { Sampler, idleRss, spawnNode, type IdleRss } from './rss.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bundle = join(root, 'dist', 'device', 'ota-agent.mjs');
const MiB = 1024 * 1024;
const GOAL_BUNDLE_BYTES = MiB;
const GOAL_IDLE_RATIO = 1.3;
const GOAL_GROWTH_BYTES = 16 * MiB;

/** How node runs: the systemd unit's settings, or plain. */
interface Flavour { readonly name: string; readonly nodeArgs: readonly string[]; readonly env: NodeJS.ProcessEnv }

/** The node that runs the agent and the bare process: this one, or Debian 12's Node 18 (`--node18`, root). */
function nodePath(): string {
  if (!process.argv.includes('--node18')) return process.execPath;
  const n18 = debianNode18();
  if ('reason' in n18) throw new Error(`--node18: ${n18.reason}`);
  return n18.path;
}
const node = nodePath();

const plainEnv: NodeJS.ProcessEnv = { ...process.env };
delete plainEnv['MALLOC_ARENA_MAX'];
/** The unit's node flags; `--node-flags "..."` tries others in their place (the bare process gets the same). */
const UNIT_NODE_ARGS = ['--max-semi-space-size=1'];
const flavours: readonly Flavour[] = [
  // Kept in step with agent/systemd/ota-agent.service.
  { name: 'unit', nodeArgs: optionValue('--node-flags')?.split(' ').filter((a) => a !== '') ?? UNIT_NODE_ARGS, env: { ...plainEnv, MALLOC_ARENA_MAX: '1', OTA_LOG_FORMAT: 'journal' } },
  { name: 'plain', nodeArgs: [], env: plainEnv },
];

/** One flavour's figures, in bytes. */
interface Figures {
  bare: IdleRss;
  offline: IdleRss;
  connected: IdleRss;
  installs: { sizeMiB: number; idleBytes: number; peakBytes: number; deltaBytes: number }[];
}

function optionValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function sizesArg(): number[] {
  const text = optionValue('--sizes');
  const sizes = (text ?? '16,256').split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 2)) throw new Error(`--sizes ${text ?? ''}: give whole MiB of at least 2, comma separated`);
  return sizes;
}

async function bare(f: Flavour, cwd: string): Promise<IdleRss> {
  const child = spawnNode([...f.nodeArgs, '-e', 'setInterval(() => {}, 1000)'], f.env, cwd, node);
  try {
    return await idleRss(child.pid);
  } finally {
    await child.kill();
  }
}

/** Make a simulated device `name` whose agent talks to `mqttUrl` and fetches from `artifactsUrl`. */
async function device(dir: string, name: string, image: string, mqttUrl: string, artifactsUrl: string): Promise<string> {
  rmSync(join(dir, name), { recursive: true, force: true });
  await agentCli(dir, 'sim', 'create', name, '--hardware', 'sim-board', '--root', 'keys/root.json', '--image', image, '--version', '1',
    '--mqtt-url', mqttUrl, '--artifacts-url', artifactsUrl);
  return join(name, 'agent.json');
}

/** The daemon with nothing listening on its broker's port: it keeps reconnecting with backoff. */
async function offline(f: Flavour, dir: string, image: string): Promise<IdleRss> {
  const config = await device(dir, 'dev-offline', image, `mqtt://127.0.0.1:${await freePort()}`, 'http://127.0.0.1:9/');
  const daemon = spawnNode([...f.nodeArgs, bundle, '--config', config, 'run', '--reboot', 'stop'], f.env, dir, node);
  try {
    return await idleRss(daemon.pid);
  } finally {
    await daemon.kill();
    rmSync(join(dir, 'dev-offline'), { recursive: true, force: true });
  }
}

/** Idle connected, then a notice: the highest VmHWM until the daemon exits to reboot. */
async function install(f: Flavour, dir: string, broker: Broker, sizeMiB: number, idleOnly: boolean): Promise<{ idle: IdleRss; peakBytes: number }> {
  const rel = join(dir, `rel-${sizeMiB}`);
  const server = await serveArtifacts(rel);
  const name = `dev-${sizeMiB}`;
  const observer = await Observer.open(broker.url, `ota/v1/${name}/#`);
  try {
    const config = await device(dir, name, `v1-${sizeMiB}.img`, broker.url, server.url);
    const daemon = spawnNode([...f.nodeArgs, bundle, '--config', config, 'run', '--reboot', 'stop'], f.env, dir, node);
    try {
      await observer.waitFor((m) => m.topic === `ota/v1/${name}/availability` && m.text === 'online', 20_000);
      const idle = await idleRss(daemon.pid);
      if (idleOnly) return { idle, peakBytes: 0 };
      const sampler = new Sampler(daemon.pid);
      await observer.publish(`ota/v1/${name}/notice`, readFileSync(join(rel, 'notice.json'), 'utf8'));
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 300_000).unref());
      const code = await Promise.race([daemon.exited, timeout]);
      const peakBytes = sampler.stop();
      if (code !== 0 || !daemon.output().includes('armed a trial boot')) throw new Error(`install of the ${sizeMiB} MiB release failed (${String(code)}):\n${daemon.output()}`);
      if (!daemon.output().includes('kind=delta')) throw new Error(`the ${sizeMiB} MiB release was not installed as a delta:\n${daemon.output()}`);
      return { idle, peakBytes };
    } finally {
      await daemon.kill();
    }
  } finally {
    await observer.close();
    await server.close();
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function nodeVersion(): string {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return r.stdout.trim();
}

const mib = (b: number): string => (b / MiB).toFixed(1);
const idleCell = (r: IdleRss, bareRss: IdleRss): string =>
  `${mib(r.startedBytes)} / ${mib(r.restBytes)} (${(r.startedBytes / bareRss.startedBytes).toFixed(2)} / ${(r.restBytes / bareRss.restBytes).toFixed(2)} x bare)`;
const verdict = (ok: boolean): string => ok ? 'met' : 'NOT MET';

function report(bundleBytes: number, figures: ReadonlyMap<string, Figures>): string {
  const unit = figures.get('unit');
  const plain = figures.get('plain');
  if (unit === undefined || plain === undefined) throw new Error('both flavours are measured');
  const rows: [string, (g: Figures) => string][] = [
    ['bare node -e setInterval, 3 s / at rest (RSS)', (g) => `${mib(g.bare.startedBytes)} / ${mib(g.bare.restBytes)}`],
    ['agent idle, no broker reachable, 3 s / at rest', (g) => idleCell(g.offline, g.bare)],
    ['agent idle, connected to mosquitto, 3 s / at rest', (g) => idleCell(g.connected, g.bare)],
    ...unit.installs.map((_, i): [string, (g: Figures) => string] => [
      `install peak, ${unit.installs[i]?.sizeMiB ?? 0} MiB image (VmHWM)`,
      (g) => { const r = g.installs[i]; return r === undefined ? '' : `${mib(r.peakBytes)} (idle ${mib(r.idleBytes)} + ${mib(r.peakBytes - r.idleBytes)})`; }]),
  ];
  const lines = [
    `device bundle dist/device/ota-agent.mjs: ${bundleBytes} bytes (${(bundleBytes / 1024).toFixed(0)} KiB); goal <= 1024 KiB: ${verdict(bundleBytes <= GOAL_BUNDLE_BYTES)}`,
    '',
    `node ${nodeVersion()}; MiB | as the systemd unit runs it (MALLOC_ARENA_MAX=1 ${flavours[0]?.nodeArgs.join(' ') ?? ''}) | plain node |`,
    '|---|---|---|',
    ...rows.map(([label, cell]) => `| ${label} | ${cell(unit)} | ${cell(plain)} |`),
    '',
  ];
  for (const f of flavours) {
    const g = figures.get(f.name);
    if (g === undefined) continue;
    const ratio = g.connected.restBytes / g.bare.restBytes;
    const worst = Math.max(...g.installs.map((r) => r.peakBytes - r.idleBytes));
    lines.push(`${f.name}: idle connected at rest ${ratio.toFixed(2)} x bare at rest (goal <= ${GOAL_IDLE_RATIO}: ${verdict(ratio <= GOAL_IDLE_RATIO)})` +
      (g.installs.length === 0 ? '' : `; install growth at most ${mib(worst)} MiB (goal <= 16: ${verdict(worst <= GOAL_GROWTH_BYTES)})`));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build:device first (npm run bench:footprint does)`);
  if (!haveMosquitto()) throw new Error(`${MOSQUITTO} is not installed: apt-get install mosquitto`);
  const sizes = sizesArg();
  const idleOnly = process.argv.includes('--idle-only');
  const bundleBytes = statSync(bundle).size;
  const t = tempDir('ota-footprint-');
  const broker = await startMosquitto();
  try {
    await fleetCli(t.dir, 'keygen', '--out', 'keys');
    for (const sizeMiB of sizes) {
      process.stderr.write(`bench:footprint: making the ${sizeMiB} MiB image pair, its delta and release...\n`);
      makeImagePair(t.dir, sizeMiB);
      await fleetCli(t.dir, 'delta', 'make', '--from', `v1-${sizeMiB}.img`, '--to', `v2-${sizeMiB}.img`, '--out', `v2-${sizeMiB}.delta`);
      await fleetCli(t.dir, 'release', '--image', `v2-${sizeMiB}.img`, '--version', '2', '--hardware', 'sim-board', '--keys', 'keys',
        '--out', `rel-${sizeMiB}`, '--delta', `v2-${sizeMiB}.delta@v1-${sizeMiB}.img`);
      rmSync(join(t.dir, `v2-${sizeMiB}.img`));
    }
    const figures = new Map<string, Figures>();
    for (const f of flavours) {
      process.stderr.write(`bench:footprint: measuring with ${f.name} node...\n`);
      const g: Figures = { bare: await bare(f, t.dir), offline: await offline(f, t.dir, `v1-${sizes[0] ?? 16}.img`), connected: { startedBytes: 0, restBytes: 0 }, installs: [] };
      for (const sizeMiB of idleOnly ? sizes.slice(0, 1) : sizes) {
        const r = await install(f, t.dir, broker, sizeMiB, idleOnly);
        if (!idleOnly) g.installs.push({ sizeMiB, idleBytes: r.idle.restBytes, peakBytes: r.peakBytes, deltaBytes: statSync(join(t.dir, `v2-${sizeMiB}.delta`)).size });
        if (g.connected.restBytes === 0) g.connected = r.idle;
      }
      figures.set(f.name, g);
    }
    console.log(report(bundleBytes, figures));
    const results = join(root, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    const name = `footprint${process.argv.includes('--node18') ? '-node18' : ''}${idleOnly ? '-idle' : ''}.json`;
    writeFileSync(join(results, name), JSON.stringify({ node: nodeVersion(), bundleBytes, figures: Object.fromEntries(figures) }, null, 2) + '\n');
  } finally {
    await broker.stop();
    t.cleanup();
  }
}

await main();
