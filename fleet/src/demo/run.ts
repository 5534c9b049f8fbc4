/**
 * `npm run demo`, end to end on one machine, no root: the embedded broker (or an
 * external MQTT 5 broker with --broker) and the artifact server on 127.0.0.1,
 * two ext4 root filesystem images, keys, a signed
 * release of v2 with a delta from v1, a fleet of simulated devices each running
 * the real agent in its own process (one set up to fail its health check), and
 * a staged rollout driven by the real rollout controller, shown live.
 */
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as fleetMain } from '../cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { cohortPpm } from '../../../agent/src/formats/index.js';
import { monotonicClock, sleep } from '../../../agent/src/time/index.js';
import { copyArtifacts, readReleaseDir } from '../publish/index.js';
import { createRollout, isFinal, runController, type RolloutPolicy } from '../rollout/index.js';
import { serveArtifacts, startBroker } from '../serve/index.js';
import { StatusBoard, connectFleet, type ProtocolVersion } from '../status/index.js';
import { AgentProcesses, createDevice, type DemoDevice } from './devices.js';
import { buildImages } from './images.js';
import { runQuiet } from './quiet.js';
import { atRest, bytesText, outcomes, type DemoSummary } from './summary.js';
import { LiveView, type ViewOutput } from './view.js';

/** What to run. */
export interface DemoOptions {
  readonly devices: number;
  /** Put the failing device in the first stage, so the rollout halts there (default: the last stage; it completes). */
  readonly halt: boolean;
  /** Keep the temp directory (its path is printed). */
  readonly keep: boolean;
  /** An external broker (e.g. mosquitto) the agents and the controller use over MQTT 5; default: the embedded aedes broker. */
  readonly brokerUrl?: string;
  readonly out: ViewOutput;
  readonly signal: AbortSignal;
}

/** Things the demo must undo, in reverse order, however it ends. */
export class Cleanup {
  private readonly steps: (() => Promise<void>)[] = [];
  add(step: () => Promise<void>): void { this.steps.push(step); }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step().catch(() => undefined);
  }
}

const HARDWARE = 'demo-board';
const ROLLOUT_ID = 'demo-v2';
/** Longest the staged rollout may take before the demo gives up (it takes 15-20 s here). */
const ROLLOUT_TIMEOUT_MS = 90_000;
const POLICY: RolloutPolicy = { stagesPercent: [25, 50, 100], successThresholdPercent: 75, failureThresholdPercent: 25, minDevices: 2, soakMs: 5000 };

/** Sleep `ms`, or less when `signal` fires (then throws). */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (await sleep(monotonicClock, ms, signal) === 'aborted') throw new OtaError('INTERRUPTED', 'demo interrupted');
}

/** Poll `cond` every 100 ms until true; throws DEMO_TIMEOUT naming `what` after `timeoutMs`, or when an agent ended. */
async function until(cond: () => boolean, timeoutMs: number, what: string, signal: AbortSignal, agents: AgentProcesses): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    await agents.throwIfExited();
    if (Date.now() > end) throw new OtaError('DEMO_TIMEOUT', `demo: ${what} did not happen within ${timeoutMs / 1000} s: see the agent.log of each device (--keep)`);
    await pause(100, signal);
  }
}

/** The agent's log lines about failed health checks (`health check NAME (required): FAILED: ...`). */
async function failedChecks(logFile: string): Promise<string[]> {
  const text = await fsp.readFile(logFile, 'utf8').catch(() => '');
  return [...new Set(text.split('\n').filter((l) => /health check .*FAILED/.test(l)).map((l) => l.replace(/^\w+: /, '')))];
}

/** Device ids `dev-00`..; the failing one is the last (or, with `halt`, the first) the rollout reaches. */
function fleetPlan(n: number, halt: boolean): { ids: string[]; failing: string } {
  const ids = Array.from({ length: n }, (_, k) => `dev-${String(k).padStart(2, '0')}`);
  const byPlace = [...ids].sort((a, b) => cohortPpm(ROLLOUT_ID, a) - cohortPpm(ROLLOUT_ID, b));
  return { ids, failing: (halt ? byPlace[0] : byPlace[byPlace.length - 1]) ?? 'dev-00' };
}

/** The broker the demo uses: the embedded one (aedes speaks MQTT 3.1.1), or the external one named by `brokerUrl` (MQTT 5). */
async function demoBroker(brokerUrl: string | undefined, cleanup: Cleanup): Promise<{ url: string; protocolVersion: ProtocolVersion; name: string }> {
  if (brokerUrl !== undefined) return { url: brokerUrl, protocolVersion: 5, name: `external MQTT broker ${brokerUrl} (MQTT 5)` };
  const broker = await startBroker();
  cleanup.add(() => broker.close());
  return { url: broker.url, protocolVersion: 4, name: `embedded MQTT broker ${broker.url} (aedes, MQTT 3.1.1)` };
}

/** Run the demo; resolves to its summary. Everything it started is stopped and removed when it returns or throws. */
export async function runDemo(o: DemoOptions, cleanup: Cleanup): Promise<DemoSummary> {
  const startMs = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ota-demo-'));
  cleanup.add(async () => { if (!o.keep) await fsp.rm(dir, { recursive: true, force: true }); });
  const { ids, failing } = fleetPlan(o.devices, o.halt);
  const view = new LiveView(o.out, ids, new Set([failing]), startMs);
  const say = (t: string): void => view.event(t);
  say(`working in ${dir}${o.keep ? ' (kept: --keep)' : ' (removed at the end)'}`);

  const broker = await demoBroker(o.brokerUrl, cleanup);
  const served = join(dir, 'served');
  await fsp.mkdir(served);
  const server = await serveArtifacts(served);
  cleanup.add(() => server.close());
  say(`${broker.name} and artifact server ${server.url} (HTTP Range)`);

  const images = await buildImages(dir);
  say(`images: ${images.kind === 'ext4' ? 'ext4 root filesystems (mke2fs -d)' : 'plain file images (mke2fs not found, so no ext4)'} of ${bytesText(images.sizeBytes)}, ${images.files} files each`);
  say(`  v2 is a security fix: ${images.changes.join('; ')}`);
  o.signal.throwIfAborted();
  await runQuiet(fleetMain, 'ota-fleet', ['keygen', '--out', 'keys'], dir);
  await runQuiet(fleetMain, 'ota-fleet', ['release', '--image', images.v2Path, '--version', '2', '--hardware', HARDWARE, '--keys', 'keys',
    // Every device takes the delta; the compressed full image would add half a minute of brotli at quality 11 to the demo.
    '--out', 'rel2', '--from', images.v1Path, '--full-image', 'raw'], dir);
  const rel = await readReleaseDir(join(dir, 'rel2'));
  await copyArtifacts(join(dir, 'rel2'), rel.release, served);
  const deltaSizeBytes = rel.release.deltas[0]?.sizeBytes ?? 0;
  say(`ota-fleet keygen, release --from v1: release 2 signed; full image ${bytesText(rel.release.image.sizeBytes)}, delta from v1 ${bytesText(deltaSizeBytes)}`);
  o.signal.throwIfAborted();

  const setup = { dir, hardware: HARDWARE, rootJson: join(dir, 'keys', 'root.json'), imagePath: images.v1Path, brokerUrl: broker.url, protocolVersion: broker.protocolVersion, artifactsUrl: server.url };
  const devices: DemoDevice[] = [];
  for (const id of ids) devices.push(await createDevice(setup, id, id === failing));
  const agents = new AgentProcesses();
  cleanup.add(() => agents.stopAll());
  process.once('exit', () => agents.killNow());
  for (const d of devices) agents.start(d);
  say(`${ids.length} simulated devices (ota-agent sim create: file-backed A/B slots and U-Boot env), each running ota-agent run in its own process`);
  say(`  ${failing} is set up to fail: its agent.json requires the health check "app-selftest" (the command \`false\`)`);

  const client = await connectFleet({ url: broker.url, protocolVersion: broker.protocolVersion, clientIdPrefix: 'ota-demo' });
  cleanup.add(async () => { await client.endAsync(true); });
  const board = await StatusBoard.attach(client);
  const refresh = (): void => view.update(board.reports, board.online);
  board.on('change', refresh);
  cleanup.add(async () => { board.off('change', refresh); view.close(); });
  await until(() => ids.every((id) => board.reports.get(id)?.version === 1 && board.online.get(id) === true), 60_000, 'every device online on v1', o.signal, agents);
  say('every device is online on v1; starting the staged rollout');

  const stateFile = join(dir, 'ota-rollout.json');
  const started = await createRollout({
    stateFile, releaseDir: join(dir, 'rel2'), keysDir: join(dir, 'keys'), broker: broker.url, protocolVersion: broker.protocolVersion, policy: POLICY,
    rolloutId: ROLLOUT_ID, rolloutLifetimeMs: 3_600_000, spreadSeconds: 0, settleMs: 300, nowMs: Date.now(), servedDir: served, artifactsUrl: server.url,
  });
  say(`rollout ${ROLLOUT_ID}: stages ${POLICY.stagesPercent.join(', ')} %; a stage soaks ${POLICY.soakMs / 1000} s and needs ${POLICY.successThresholdPercent} % committed`
    + ` before the next; more than ${POLICY.failureThresholdPercent} % failed halts it`);
  say(`rollout ${ROLLOUT_ID}: stage 1/${POLICY.stagesPercent.length}: ${started.tally.inStage} devices (${POLICY.stagesPercent[0] ?? 0} %, at least ${POLICY.minDevices})`);
  // The controller runs until the rollout is final; stop it too when the user, a dead agent or the clock says so.
  const watch = new AbortController();
  const stop = (): void => watch.abort();
  o.signal.addEventListener('abort', stop, { once: true });
  agents.onExit = stop;
  const timer = setTimeout(stop, ROLLOUT_TIMEOUT_MS);
  const final = await runController(stateFile, { tickMs: 250, settleMs: 300, log: (l) => say(l), signal: watch.signal })
    .finally(() => { clearTimeout(timer); o.signal.removeEventListener('abort', stop); });
  o.signal.throwIfAborted();
  await agents.throwIfExited();
  if (!isFinal(final)) throw new OtaError('DEMO_TIMEOUT', `demo: the rollout is still ${final.rollout.status} after ${ROLLOUT_TIMEOUT_MS / 1000} s: rerun with --keep and read each device's agent.log`);
  // A halted rollout was offered to the devices of the stage it halted in; a completed one to all.
  const reachedPpm = final.rollout.status === 'completed' ? Infinity : final.rollout.stagePpm ?? 0;
  const offered = ids.filter((id) => cohortPpm(ROLLOUT_ID, id) < reachedPpm);
  await until(() => offered.every((id) => atRest(board.reports.get(id), 2)), 60_000, 'every offered device at rest', o.signal, agents);
  refresh();
  view.close();
  const logs = new Map<string, readonly string[]>();
  for (const id of ids) logs.set(id, await failedChecks(join(dir, id, 'agent.log')));
  const split = outcomes(ids, board.reports, 2, (id) => logs.get(id) ?? []);
  return {
    rolloutId: ROLLOUT_ID, rolloutStatus: final.rollout.status, ...(final.rollout.reason === undefined ? {} : { reason: final.rollout.reason }),
    stagesPercent: POLICY.stagesPercent, failureThresholdPercent: POLICY.failureThresholdPercent, releaseVersion: 2, failingDevice: failing, ...split,
    bytesSent: server.bytesSent(), imageSizeBytes: rel.release.image.sizeBytes, deltaSizeBytes, devices: ids.length, imageKind: images.kind,
    seconds: (Date.now() - startMs) / 1000,
  };
}
