/**
 * The device commands: `install SOURCE`, `status [--json]`, `post-boot`,
 * `mark-good`, `mark-bad`, `rollback`, `doctor` and `run` (the daemon), with the global
 * `--config AGENT_JSON` (default /etc/ota-agent/agent.json) and `--log-format`.
 */
import { release } from 'node:os';
import type { Argv } from 'yargs';
import { progressEvents, type ProgressSink } from './progress.js';
import { humanOutput, printJson, type CliContext, type Register } from './framework.js';
import { programVersion } from './version.js';
import { DEFAULT_AGENT_CONFIG_PATH, loadAgentConfig } from '../config/index.js';
import type { AgentConfig } from '../config/index.js';
import { OtaError } from '../errors/index.js';
import { Refusal, isRefusal, readNotice, readRelease, releaseArtifacts, releaseLabel } from '../formats/index.js';
import type { Accepted } from '../trust/index.js';
import { releaseSource } from './args.js';
import { statesIn } from '../machine/index.js';
import { configuredSource } from '../install/index.js';
import type { ArtifactSource } from '../install/index.js';
import { openDevice } from '../device/index.js';
import type { Opened } from '../device/index.js';
import { doctor } from '../device/index.js';
import { lockDevice } from '../device/index.js';
import { fleetProbeFor } from '../device/index.js';
import { deviceStatus, formatStatus, operatorVerdict, postBoot, rollback } from '../device/index.js';
import { makeLogger } from '../log/index.js';
import { runDaemon } from '../device/index.js';
import { Session, journalRecord } from '../device/index.js';
import type { RebootMode } from '../device/index.js';

/** The global options every device command reads. */
export interface GlobalArgs {
  readonly config?: string | undefined;
  readonly 'log-format'?: string | undefined;
  /** The command prints one JSON object on stdout: log lines go to stderr. */
  readonly json?: boolean | undefined;
}

/** The global options from parsed arguments whose type lost them (nested command builders). */
export function globalArgs(a: { readonly [key: string]: unknown }): GlobalArgs {
  const config = a['config'];
  const format = a['log-format'];
  return { config: typeof config === 'string' ? config : undefined, 'log-format': typeof format === 'string' ? format : undefined };
}

/** Load the agent config named by `--config` and open the device. */
export async function openFromArgs(ctx: CliContext, a: GlobalArgs, access: 'read' | 'write' = 'write'): Promise<Opened> {
  const config = await loadAgentConfig(a.config ?? DEFAULT_AGENT_CONFIG_PATH, ctx.cwd);
  const fromEnv = ctx.env['OTA_LOG_FORMAT'];
  const format = a['log-format'] === 'json' || a['log-format'] === 'text' ? a['log-format']
    : fromEnv === 'json' || fromEnv === 'text' || fromEnv === 'journal' ? fromEnv : config.logFormat;
  const log = makeLogger(format, humanOutput(ctx, a.json), () => ctx.now());
  return { device: await openDevice(config, () => ctx.now().getTime(), access), log, config };
}

/** Open the device, take its lock (see lock.ts) for `what`, run `work`, release the lock. */
export async function withDevice<T>(ctx: CliContext, a: GlobalArgs, what: string, work: (o: Opened) => Promise<T>): Promise<T> {
  const o = await openFromArgs(ctx, a);
  const unlock = await lockDevice(o.config.dataDir, what);
  try {
    return await work(o);
  } finally {
    await unlock();
  }
}

/** A session on `o.device` whose artifacts come from `source`. */
export function sessionFor(ctx: CliContext, o: Opened, rebootMode: RebootMode, extra: { source?: ArtifactSource; healthVerdict?: boolean; failFleet?: boolean; onProgress?: ProgressSink } = {}): Session {
  const source = extra.source ?? configuredSource(o.config, o.device.spoolDir);
  return new Session(o.device, {
    source, rebootMode, log: o.log, fleet: fleetProbeFor(o.config, extra.failFleet === true),
    ...(extra.healthVerdict === undefined ? {} : { healthVerdict: extra.healthVerdict }),
    ...(extra.onProgress === undefined ? {} : { onProgress: extra.onProgress }),
  }, ctx.signal);
}

/** A device whose bootloader is U-Boot reboots through its reboot command; a simulated one through the simulator. */
function liveReboot(config: AgentConfig): RebootMode {
  return config.bootloader.kind === 'u-boot' ? 'device' : 'sim';
}

/** States an interrupted `install` of the same release resumes from. */
const RESUMABLE = statesIn('install', 'arm');

/** What `install --json` prints (docs/cli.md). */
interface InstallResult {
  readonly result: 'armed' | 'already-installed';
  readonly release: { readonly version: number | null; readonly name: string | null };
  readonly slot: string | null;
  readonly rebootRequired: boolean;
}

function printInstall(ctx: CliContext, a: { json?: boolean | undefined }, r: InstallResult, text: string): void {
  if (a.json === true) printJson(ctx, r);
  else ctx.stdout.write(`${text}\n`);
}

async function install(ctx: CliContext, o: Opened, a: GlobalArgs & { source: string }): Promise<void> {
  const { notice, source } = await releaseSource(ctx.cwd, a.source);
  const session = sessionFor(ctx, o, 'stop', { source, onProgress: progressEvents(o.log, 'install.progress', 'writing the slot') });
  const before = await session.record();
  // The same release, cut off before arming (power loss): carry on from the journal's checkpoint.
  const sameJob = before.job?.noticeBase64 === Buffer.from(notice).toString('base64') && RESUMABLE.includes(before.state);
  if (before.state !== 'idle' && !sameJob) {
    throw new OtaError('MACHINE_BUSY', `an update is already in state ${before.state}: finish it first (reboot, ota-agent post-boot, or ota-agent rollback)`);
  }
  if (sameJob) o.log.info(`resuming the interrupted install of release ${before.job?.version ?? '?'} (${before.state})`);
  // A refusal keeps its typed reason ([rollback], [failed-before]...) and writes nothing, as `verify` does;
  // so does a damaged artifact: local media are read whole before the slot is touched.
  // The release already installed is nothing to do, not a failure (exit 0, as apt and rauc say so).
  const accepted = sameJob ? undefined : await acceptedOrInstalled(o, notice);
  if (accepted instanceof Refusal) {
    // Refused only after its signatures verified: the release it names is the one installed.
    const r = readRelease(readNotice(notice).release, 'notice.release');
    const running = (await o.device.records.load()).slots[await o.device.boot.booted()]?.version;
    if (running !== r.version) {
      // At the floor but not running (a rollback left it): not "already installed", and anti-rollback refuses it.
      throw new Refusal('rollback', `${releaseLabel(r)} is the anti-rollback floor but release ${running ?? 'unknown'} runs (after a rollback): install a release above ${r.version}`);
    }
    printInstall(ctx, a, { result: 'already-installed', release: { version: r.version, name: r.name ?? null }, slot: null, rebootRequired: false },
      `${releaseLabel(r)} is already installed: nothing changed`);
    return;
  }
  if (accepted !== undefined) await source.verifyAll(releaseArtifacts(accepted.release), ctx.signal ?? new AbortController().signal);
  const resumed = await session.resume();
  const result = sameJob ? resumed : await session.start(notice);
  if (result.kind === 'stopped' && session.rebootRequested) {
    const job = (await session.record()).job;
    const named = accepted !== undefined && accepted.release.version === job?.version ? accepted.release : undefined;
    const label = named !== undefined ? releaseLabel(named) : `release ${job?.version ?? '?'}`;
    printInstall(ctx, a, { result: 'armed', release: { version: job?.version ?? null, name: named?.name ?? null }, slot: job?.target ?? null, rebootRequired: true },
      `installed ${label} into slot ${job?.target ?? '?'} and armed its trial boot: reboot to try it`);
    return;
  }
  const last = result.kind === 'rest' ? result.record.last : undefined;
  throw new OtaError('INSTALL_FAILED', `install of ${a.source} ${last?.outcome ?? 'stopped'}: ${last?.error ?? 'interrupted'}`);
}

/** The accepted notice, or the refusal that says it names the installed release; throws any other refusal. */
async function acceptedOrInstalled(o: Opened, notice: Uint8Array): Promise<Accepted | Refusal> {
  try {
    return await o.device.trust.check(notice);
  } catch (err) {
    if (!isRefusal(err, 'already-installed')) throw err;
    return err;
  }
}

async function status(ctx: CliContext, a: GlobalArgs & { json: boolean }): Promise<void> {
  const o = await openFromArgs(ctx, a, 'read');
  const s = await deviceStatus(o.device, await journalRecord(o.device), true);
  ctx.stdout.write(a.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
}

function verdict(ctx: CliContext, a: GlobalArgs, good: boolean): Promise<void> {
  return withDevice(ctx, a, good ? 'mark-good' : 'mark-bad', async (o) => {
    const session = sessionFor(ctx, o, liveReboot(o.config), { healthVerdict: good });
    ctx.stdout.write(`${await operatorVerdict(session, good, o.log)}\n`);
  });
}

async function runDoctor(ctx: CliContext, a: GlobalArgs & { json: boolean; broker: boolean }): Promise<void> {
  const o = await openFromArgs(ctx, a);
  const checks = await doctor(o.device, {
    nowMs: ctx.now().getTime(), fleetTimeoutMs: 15_000,
    fleet: a.broker && o.config.mqtt !== undefined ? fleetProbeFor(o.config, false) : null,
    mountinfoPath: o.config.bootloader.kind === 'u-boot' ? '/proc/self/mountinfo' : null,
  });
  ctx.stdout.write(a.json ? `${JSON.stringify(checks, null, 2)}\n` : checks.map((c) => `${c.verdict.padEnd(4)} ${c.name}: ${c.detail}\n`).join(''));
  const failed = checks.filter((c) => c.verdict === 'fail').map((c) => c.name);
  if (failed.length > 0) throw new OtaError('DOCTOR_FAILED', `doctor: ${failed.length} check(s) failed (${failed.join(', ')}): see above`);
}

/** Registers the device commands and the global `--config` / `--log-format` options. */
export const deviceCommands: Register = (y, ctx) => globals(y)
  .command('install <source>', 'install a release offline (a release directory, its notice.json, or an .ota bundle): verify, write the inactive slot, arm the trial boot', (b) => b
    .positional('source', { type: 'string', demandOption: true, describe: 'release directory (ota-fleet release --out), its notice file, or FILE.ota (release --bundle)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (log lines go to stderr)' }),
  (a) => withDevice(ctx, a, 'install', (o) => install(ctx, o, a)))
  .command('status', 'show the slots, the running release and the last update', (b) => b
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  (a) => status(ctx, a))
  .command('post-boot', 'after boot: finish a trial (health check, commit or revert) or refill the running slot\'s tries', (b) => b,
    (a) => withDevice(ctx, a, 'post-boot', async (o) => {
      const r = await postBoot(sessionFor(ctx, o, liveReboot(o.config)), o.log);
      if (r.kind === 'rest' && r.record.last !== undefined) o.log.info(`post-boot: at rest; last update ${r.record.last.outcome}`);
    }))
  .command('mark-good', 'commit the running slot (during a trial: instead of the health check)', (b) => b, (a) => verdict(ctx, a, true))
  .command('mark-bad', 'take the running slot out of the boot order (during a trial: fail it and revert)', (b) => b, (a) => verdict(ctx, a, false))
  .command('rollback', 'revert an update in flight, or make the other slot boot next (the anti-rollback floor stays: the releases it leaves are refused, only a higher one installs)', (b) => b,
    (a) => withDevice(ctx, a, 'rollback', async (o) => {
      ctx.stdout.write(`${await rollback(sessionFor(ctx, o, liveReboot(o.config), { healthVerdict: false }))}\n`);
    }))
  .command('doctor', 'bring-up checks: env and canary, booted slot and root, slot devices, clock, identity, trusted root, data directory, broker', (b) => b
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .option('broker', { type: 'boolean', default: true, describe: 'check the broker round-trip (--no-broker skips it)' }),
  (a) => runDoctor(ctx, a))
  .command('run', 'the agent daemon: connect to the broker, take notices, install, reboot, report', (b) => b
    .option('reboot', { type: 'string', choices: ['device', 'sim', 'stop'], describe: 'how to reboot after arming: the config\'s reboot command (device), the boot simulator (sim), or exit (stop); default: sim for a simulated device, else device' }),
  (a) => withDevice(ctx, a, 'run', async (o) => {
    const mode = a.reboot === 'device' || a.reboot === 'sim' || a.reboot === 'stop' ? a.reboot : liveReboot(o.config);
    await runDaemon(ctx, o, mode, { agentVersion: programVersion(), kernel: release() });
  }));

function globals(y: Argv): Argv<GlobalArgs> {
  return y
    .option('config', { type: 'string', global: true, describe: `agent config (default ${DEFAULT_AGENT_CONFIG_PATH}); for env commands, a fw_env.config or an agent config` })
    .option('log-format', { type: 'string', global: true, choices: ['text', 'json'], describe: 'log lines as text (journald) or JSON (default: the config\'s logFormat)' });
}
