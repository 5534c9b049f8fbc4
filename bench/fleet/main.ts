/**
 * `npm run bench:fleet`: 10,000 simulated devices (lightweight mqtt.js clients,
 * 1,000 per child process, 10 processes) on one local mosquitto. Prints the
 * notice fan-out time (p50, p99) of a signed staged rollout document, the
 * controller's bookkeeping (ingesting 10,000 retained status documents; one
 * planning step over them), broker and controller peak RSS, and a broker restart
 * storm with the agents' real full-jitter backoff (peak reconnects per second).
 * OTA_BENCH_DEVICES and OTA_BENCH_PROCESSES override the sizes.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { topicsFor } from '../../agent/src/transport/index.js';
import { main as fleet } from '../../fleet/src/cli/index.js';
import { writeRollout } from '../../fleet/src/release/index.js';
import { planStep, type ControllerState } from '../../fleet/src/rollout/index.js';
import { serveArtifacts } from '../../fleet/src/serve/index.js';
import { StatusBoard } from '../../fleet/src/status/index.js';
import { MOSQUITTO, freePort } from '../../test/support/mosquitto.js';
import { runMain } from '../../test/support/tools.js';
import { wallMs } from '../../test/support/sim-fleet.js';

const DEVICES = Number(process.env['OTA_BENCH_DEVICES'] ?? 10_000);
const PROCESSES = Number(process.env['OTA_BENCH_PROCESSES'] ?? 10);
const HW = 'bench-hw';
const STAGE_PPM = 10_000; // 1 % of the fleet installs; every device receives and judges the document

interface Collected { receipts: number[]; connects: number[]; installing: number; committed: number; rssBytes: number }

const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? NaN;
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MiB`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function vmHwmBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

async function accepting(port: number): Promise<void> {
  for (let k = 0; k < 200; k++) {
    try {
      const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 1000 });
      await c.endAsync();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error('mosquitto did not start');
}

/** mosquitto with room for every device (max_connections unlimited; file limit raised by the npm script). */
async function startBroker(dir: string): Promise<{ port: number; pid: () => number | undefined; kill(): Promise<void>; start(): Promise<void> }> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest none', 'max_connections -1', 'max_queued_messages 10000'].join('\n') + '\n');
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => { child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' }); await accepting(port); };
  const kill = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
  };
  await start();
  return { port, pid: () => child?.pid, kill, start };
}

function ask(child: ChildProcess, msg: object, reply: string): Promise<Readonly<Record<string, unknown>>> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && !Array.isArray(m) && 'kind' in m && m.kind === reply) { child.off('message', on); resolve({ ...m }); }
    };
    child.on('message', on);
    child.send(msg);
  });
}

const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
const count = (v: unknown): number => (typeof v === 'number' ? v : 0);

async function collectAll(children: readonly ChildProcess[]): Promise<Collected> {
  const parts = await Promise.all(children.map((c) => ask(c, { kind: 'collect' }, 'collected')));
  return {
    receipts: parts.flatMap((p) => numbers(p['receipts'])), connects: parts.flatMap((p) => numbers(p['connects'])),
    installing: parts.reduce((n, p) => n + count(p['installing']), 0), committed: parts.reduce((n, p) => n + count(p['committed']), 0),
    rssBytes: Math.max(...parts.map((p) => count(p['rssBytes']))),
  };
}

/** Run `ota-fleet ARGV` as a child process under /usr/bin/time: wall time and peak RSS. */
async function measured(cwd: string, argv: readonly string[]): Promise<{ ms: number; peakBytes: number }> {
  const bin = fileURLToPath(new URL('../../../bin/ota-fleet.js', import.meta.url));
  const start = wallMs();
  const child = spawn('/usr/bin/time', ['-f', 'maxrss-kb %M', process.execPath, bin, ...argv], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const kb = /maxrss-kb (\d+)/.exec(err);
  if (code !== 0 || kb === null) throw new Error(`ota-fleet ${argv.join(' ')}: exit ${String(code)}: ${err}`);
  return { ms: wallMs() - start, peakBytes: Number(kb[1]) * 1024 };
}

async function fleetOk(cwd: string, argv: readonly string[]): Promise<void> {
  const r = await runMain(fleet, argv, { cwd });
  if (r.code !== 0) throw new Error(`ota-fleet ${argv.join(' ')}: ${r.stderr}`);
}

const dir = mkdtempSync(join(tmpdir(), 'ota-bench-fleet-'));
const children: ChildProcess[] = [];
const broker = await startBroker(dir);
try {
  const t0 = wallMs();
  writeFileSync(join(dir, 'v2.img'), Buffer.alloc(65536, 7));
  await fleetOk(dir, ['keygen', '--out', 'KEYS']);
  await fleetOk(dir, ['release', '--image', 'v2.img', '--version', '2', '--hardware', HW, '--keys', 'KEYS', '--out', 'R']);
  const rootBase64 = readFileSync(join(dir, 'KEYS', 'root.json')).toString('base64');
  console.log(`bench:fleet: ${DEVICES} simulated devices in ${PROCESSES} processes, one mosquitto (max_connections -1), ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1) ?? '?'}`);

  const childJs = fileURLToPath(new URL('./devices-child.js', import.meta.url));
  const per = Math.ceil(DEVICES / PROCESSES);
  for (let k = 0; k < PROCESSES; k++) children.push(fork(childJs, [], { stdio: 'inherit', execArgv: [] }));
  await Promise.all(children.map((c, k) => ask(c, { kind: 'start', url: `mqtt://127.0.0.1:${broker.port}`, hardware: HW, rootBase64, first: k * per, count: Math.max(0, Math.min(per, DEVICES - k * per)), stepMs: 50 }, 'connected')));
  console.log(`connect: ${DEVICES} devices connected in ${((wallMs() - t0) / 1000).toFixed(1)} s (including keygen and release)`);
  await sleep(1000);
  await collectAll(children);

  // The controller's side: ingest every retained status document.
  const ingestStart = wallMs();
  const client = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 4, reconnectPeriod: 1000, clientId: 'bench-controller' });
  const board = await StatusBoard.attach(client);
  while (board.reports.size < DEVICES) await sleep(10);
  console.log(`status ingest: the controller read ${board.reports.size} retained status documents in ${(wallMs() - ingestStart).toFixed(0)} ms`);

  // Fan-out: one signed staged rollout document, published retained as the controller does.
  const signed = await writeRollout(join(dir, 'KEYS'), join(dir, 'R'), join(dir, 'notice.json'), {
    devices: [], cohorts: [], stage: { rollout: 'bench', ppm: STAGE_PPM }, expiresMs: Date.now() + 86_400_000, spreadSeconds: 0, nowMs: Date.now(),
  });
  const sentAt = wallMs();
  await client.publishAsync(topicsFor('fleet', HW).rollout, Buffer.from(signed.noticeBytes), { qos: 1, retain: true });
  let got: Collected = { receipts: [], connects: [], installing: 0, committed: 0, rssBytes: 0 };
  const fan: number[] = [];
  for (let k = 0; k < 300 && fan.length < DEVICES; k++) {
    await sleep(100);
    got = await collectAll(children);
    fan.push(...got.receipts.map((t) => t - sentAt));
  }
  fan.sort((a, b) => a - b);
  console.log(`fan-out: ${fan.length} of ${DEVICES} devices received the ${signed.noticeBytes.byteLength}-byte rollout document: p50 ${pct(fan, 0.5).toFixed(0)} ms, p99 ${pct(fan, 0.99).toFixed(0)} ms, max ${pct(fan, 1).toFixed(0)} ms`);

  // Stage 1 installs (1 %); then one planning step over all status documents.
  let stage: Collected = got;
  for (let k = 0; k < 100; k++) {
    await sleep(200);
    stage = await collectAll(children);
    if (stage.installing > 0 && stage.committed >= stage.installing) break;
  }
  console.log(`stage 1 (${STAGE_PPM / 10_000} %): ${stage.installing} devices installed, ${stage.committed} committed`);
  const state: ControllerState = {
    format: 'ota-rollout/1', releaseDir: join(dir, 'R'), keysDir: join(dir, 'KEYS'), broker: '', protocolVersion: 4, hardware: [HW],
    policy: { stagesPercent: [1, 10, 100], successThresholdPercent: 95, failureThresholdPercent: 5, minDevices: 1, soakMs: 0 },
    rolloutLifetimeMs: 86_400_000, spreadSeconds: 0, targetPpm: STAGE_PPM, published: { ppm: STAGE_PPM, rolloutVersion: signed.version, signedAtMs: Date.now() },
    rollout: { rolloutId: 'bench', releaseVersion: 2, stageIndex: 0, stageStartedAtMs: 0, status: 'running', stagePpm: STAGE_PPM },
    tracking: {}, tally: { inStage: 0, committed: 0, failed: 0, pending: 0 },
  };
  const times: number[] = [];
  let last = planStep(state, [...board.reports.values()], Date.now());
  for (let k = 0; k < 20; k++) {
    const reports = [...board.reports.values()];
    const s = performance.now();
    last = planStep(state, reports, Date.now());
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  console.log(`bookkeeping: one planning step over ${board.reports.size} status documents: median ${pct(times, 0.5).toFixed(1)} ms, max ${pct(times, 1).toFixed(1)} ms; tally ${JSON.stringify(last.next.tally)}, next action ${last.actions[0]?.kind ?? 'none'}`);
  await client.endAsync();

  // The real controller as its own process: ingest every status document, plan, sign and publish a first stage.
  const artifacts = await serveArtifacts(join(dir, 'R')); // rollout start checks the release's artifacts there first
  const controller = await measured(dir, ['rollout', 'start', 'R', '--stages', '1,10,100', '--broker', `mqtt://127.0.0.1:${broker.port}`, '--keys', 'KEYS',
    '--artifacts-url', artifacts.url, '--id', 'bench-2', '--detach', '--settle-ms', '500', '--state', 'bench-2.json']);
  await artifacts.close();
  console.log(`controller process (ota-fleet rollout start --detach over ${DEVICES} devices: connect, ingest, plan, sign, publish; 500 ms quiet wait included): `
    + `${(controller.ms / 1000).toFixed(1)} s, peak RSS ${mib(controller.peakBytes)}`);

  // Restart storm: the broker dies (SIGKILL) and comes back 1 s later; devices reconnect with full-jitter backoff.
  const brokerPeak1 = vmHwmBytes(broker.pid());
  await broker.kill();
  const killedAt = wallMs();
  await sleep(1000);
  await broker.start();
  const backAfterMs = wallMs() - killedAt;
  let connects: number[] = [];
  for (let k = 0; k < 600 && connects.length < DEVICES; k++) {
    await sleep(500);
    connects.push(...(await collectAll(children)).connects);
  }
  connects = connects.map((t) => t - killedAt).sort((a, b) => a - b);
  const perSecond = new Map<number, number>();
  const per100 = new Map<number, number>();
  for (const t of connects) {
    perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    per100.set(Math.floor(t / 100), (per100.get(Math.floor(t / 100)) ?? 0) + 1);
  }
  console.log(`restart storm: ${connects.length} connections (${DEVICES} devices; a device whose first try was cut counts twice); all by ${((connects[connects.length - 1] ?? NaN) / 1000).toFixed(1)} s after the kill (broker accepting again at ${(backAfterMs / 1000).toFixed(1)} s); `
    + `peak ${Math.max(...perSecond.values())} reconnects/s (1 s buckets), ${Math.max(...per100.values())} in the busiest 100 ms`);
  console.log(`  reconnects per second after the kill: ${[...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}s:${n}`).join(' ')}`);
  const brokerPeak = Math.max(brokerPeak1, vmHwmBytes(broker.pid()));
  const final = await collectAll(children);
  console.log(`peak RSS: mosquitto ${mib(brokerPeak)}, controller process ${mib(controller.peakBytes)}, bench process (planning loop, keygen, orchestration) ${mib(process.resourceUsage().maxRSS * 1024)}, device processes ${mib(final.rssBytes)} each at most (${per} devices each)`);
  console.log(`total ${((wallMs() - t0) / 1000).toFixed(1)} s`);
} finally {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null) { resolve(); return; }
    const t = setTimeout(() => { c.kill('SIGKILL'); }, 10_000);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    c.send({ kind: 'stop' });
  })));
  await broker.kill();
  rmSync(dir, { recursive: true, force: true });
}
