/**
 * The README's recipes, run as written: the tour's first block (keygen, release,
 * verify) and then "Publish and stage a rollout", each `npx ota-fleet` /
 * `npx ota-agent` line through the CLI's own `main` in-process, in a temp dir,
 * with 20 simulated devices of the tour's hardware online on the recipe's
 * broker. The stages must advance to completion, every rollout document on the
 * wire must be a staged one, and no device may start installing before its
 * stage existed: stage 1 before `rollout start` ran, a later stage before the
 * controller logged it (which it does before signing and publishing it).
 * The README's ports (1883, 8080) are used when free; otherwise the test
 * substitutes free ones in every command and says so on stderr.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as agent } from '../../../agent/src/cli/index.js';
import type { CliContext } from '../../../agent/src/cli/index.js';
import { readNotice, readRollout } from '../../../agent/src/formats/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { cohortPpm, loadState } from '../../../fleet/src/rollout/index.js';
import { deviceSpecs } from '../../support/fleet-rig.js';
import { Observer } from '../../support/mqtt-observer.js';
import { recipeCommands, shBlockAfter, type RecipeCommand } from '../../support/readme-commands.js';
import { SimFleet, until, wallMs } from '../../support/sim-fleet.js';
import { tempDir } from '../../support/tools.js';

const README = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');
const HARDWARE = 'my-board';
const README_PORTS = { mqtt: 1883, http: 8080 };

/** What a command wrote, line by line, with the time each line was written. */
interface Run {
  readonly cmd: RecipeCommand;
  readonly startedAtMs: number;
  readonly lines: { atMs: number; text: string }[];
  stderr: string;
  readonly exit: Promise<number>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** The README's ports, or free ones when another process holds them. */
async function choosePorts(): Promise<{ mqtt: number; http: number }> {
  if (await portFree(README_PORTS.mqtt) && await portFree(README_PORTS.http)) return README_PORTS;
  const ports = { mqtt: await anyPort(), http: await anyPort() };
  process.stderr.write(`readme-recipe: port 1883 or 8080 is in use here: running the recipe on ${ports.mqtt} and ${ports.http} instead\n`);
  return ports;
}

/** The command's words with the README's ports replaced by `ports` (identity when they are the README's). */
function withPorts(words: readonly string[], ports: { mqtt: number; http: number }): string[] {
  const out = words.map((w) => w.replace('127.0.0.1:1883', `127.0.0.1:${ports.mqtt}`).replace('127.0.0.1:8080', `127.0.0.1:${ports.http}`));
  if (words[2] === 'serve' && ports !== README_PORTS) out.push('--mqtt-port', String(ports.mqtt), '--port', String(ports.http));
  return out;
}

function start(cmd: RecipeCommand, cwd: string, ports: { mqtt: number; http: number }, signal?: AbortSignal): Run {
  const words = withPorts(cmd.words, ports);
  const main = words[0] === 'npx' && words[1] === 'ota-fleet' ? fleet : words[0] === 'npx' && words[1] === 'ota-agent' ? agent : undefined;
  if (main === undefined) throw new Error(`README: ${cmd.text}: not an npx ota-fleet / ota-agent command`);
  const lines: Run['lines'] = [];
  const run: { stderr: string } = { stderr: '' };
  const ctx: CliContext = {
    stdout: { write: (t: string) => { for (const text of t.split('\n')) if (text !== '') lines.push({ atMs: wallMs(), text }); return true; } },
    stderr: { write: (t: string) => { run.stderr += t; return true; } },
    env: { ...process.env }, cwd, now: () => new Date(), ...(signal === undefined ? {} : { signal }),
  };
  const startedAtMs = wallMs();
  return Object.assign(run, { cmd, startedAtMs, lines, exit: main(words.slice(2), ctx) });
}

async function runOk(cmd: RecipeCommand, cwd: string, ports: { mqtt: number; http: number }): Promise<Run> {
  const r = start(cmd, cwd, ports);
  const code = await r.exit;
  if (code !== 0) throw new Error(`README: ${cmd.text}: exit ${code}: ${r.stderr}\n${r.lines.map((l) => l.text).join('\n')}`);
  return r;
}

/** When each stage began to exist, and its size: stage 1 when `rollout start` ran, later stages when the controller logged them. */
function stagesOf(run: Run): { ppm: number; fromMs: number }[] {
  const first = run.lines.find((l) => /published rollout document \d+ \(\d+ ppm\)/.test(l.text));
  const ppm1 = Number(/\((\d+) ppm\)/.exec(first?.text ?? '')?.[1] ?? NaN);
  const stages = [{ ppm: ppm1, fromMs: run.startedAtMs }];
  for (const l of run.lines) {
    const m = /: stage (\d+)\/\d+ \([\d.]+ %, (\d+) ppm\)$/.exec(l.text);
    if (m !== null) stages.push({ ppm: Number(m[2]), fromMs: l.atMs });
  }
  return stages;
}

test('the README\'s tour and rollout recipe, run as written against 20 devices: stages advance, no device installs before its stage', async () => {
  const tour = recipeCommands(shBlockAfter(README, 'Sign, publish and verify'));
  const recipe = recipeCommands(shBlockAfter(README, 'Publish and stage a rollout'));
  const t = tempDir('ota-readme-recipe-');
  const v1 = Buffer.alloc(65_536);
  for (let k = 0; k < v1.length; k++) v1[k] = (k * 131) & 0xff;
  const v2 = Buffer.from(v1);
  v2.fill(7, 10_000, 12_000);
  writeFileSync(join(t.dir, 'v1.img'), v1);
  writeFileSync(join(t.dir, 'v2.img'), v2);
  const ports = await choosePorts();
  const stopServe = new AbortController();
  let serve: Run | undefined;
  let devices: SimFleet | undefined;
  let observer: Observer | undefined;
  try {
    for (const cmd of tour) await runOk(cmd, t.dir, ports);

    const [serveCmd, ...rest] = recipe;
    assert.ok(serveCmd !== undefined && serveCmd.background && serveCmd.words[2] === 'serve', 'the recipe starts with ota-fleet serve ... &');
    if (serveCmd === undefined) return;
    serve = start(serveCmd, t.dir, ports, stopServe.signal);
    const serving = serve;
    await until(() => serving.lines.some((l) => l.text.startsWith('broker:')), 10_000, 'ota-fleet serve to listen');
    const brokerUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
    observer = await Observer.open(brokerUrl, 'ota/v1/rollout/#');
    const installedAtMs = new Map<string, number>();
    devices = new SimFleet(deviceSpecs(20), {
      url: brokerUrl, protocolVersion: 4, hardware: HARDWARE, rootBytes: readFileSync(join(t.dir, 'keys', 'root.json')), stepMs: 40,
      onInstall: (id) => { if (!installedAtMs.has(id)) installedAtMs.set(id, wallMs()); },
    });
    await devices.start();

    const runs: Run[] = [];
    for (const cmd of rest) {
      assert.not.ok(cmd.background, `${cmd.text}: only serve runs in the background`);
      runs.push(await runOk(cmd, t.dir, ports));
    }
    const rollout = runs.find((r) => r.cmd.words[2] === 'rollout' && r.cmd.words[3] === 'start');
    assert.ok(rollout !== undefined, 'the recipe starts a rollout');
    if (rollout === undefined) return;
    const log = rollout.lines.map((l) => l.text).join('\n');
    assert.match(log, /stage 2\/4/);
    assert.match(log, /stage 3\/4/);
    assert.match(log, /stage 4\/4/);
    assert.match(log, /: completed/);
    const state = await loadState(join(t.dir, 'ota-rollout.json'));
    assert.is(state.rollout.status, 'completed');
    assert.is(state.published?.ppm, 1_000_000);

    const stages = stagesOf(rollout);
    assert.is(stages.length, 4, JSON.stringify(stages));
    assert.ok(stages.every((s, k) => k === 0 || (s.ppm >= (stages[k - 1]?.ppm ?? 0) && s.fromMs >= (stages[k - 1]?.fromMs ?? 0))), 'stages never narrow, and come in order');
    const fleetDevices = devices;
    await until(() => fleetDevices.devices.every((d) => d.version === 2), 15_000, 'every device on release 2');
    for (const d of fleetDevices.devices) {
      const at = installedAtMs.get(d.deviceId);
      const stage = stages.findIndex((s) => cohortPpm(state.rollout.rolloutId, d.deviceId) < s.ppm);
      const from = stages[stage]?.fromMs;
      assert.ok(at !== undefined && from !== undefined, `${d.deviceId} installed, in stage ${stage + 1}`);
      assert.ok(at !== undefined && from !== undefined && at >= from, `${d.deviceId} (stage ${stage + 1}) installed ${from === undefined || at === undefined ? '?' : from - at} ms before its stage began`);
      assert.equal(d.installs, [2], `${d.deviceId} installed once`);
    }
    for (const m of observer.seen) {
      const audience = readRollout(readNotice(Buffer.from(m.text)).rollout, m.topic).audience;
      assert.ok(!audience.all && audience.stage !== undefined, `${m.topic}: every rollout document published is a staged one`);
    }
    assert.ok(observer.seen.length >= 4, 'the four stages were published');

    const status = runs.find((r) => r.cmd.words[2] === 'rollout' && r.cmd.words[3] === 'status');
    assert.match(status?.lines.map((l) => l.text).join('\n') ?? '', /completed/);
    const table = runs.find((r) => r.cmd.words[2] === 'status');
    assert.match(table?.lines.at(-2)?.text ?? '', /^20 devices$/);
    assert.match(table?.lines.at(-1)?.text ?? '', /^20 of 20 known devices seen \(roster ota-devices\.json\)$/, 'checked against the roster rollout start wrote');
  } finally {
    await devices?.stop();
    await observer?.client.endAsync();
    stopServe.abort();
    await serve?.exit;
    t.cleanup();
  }
});

test.run();
