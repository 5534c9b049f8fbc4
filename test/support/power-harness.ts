/**
 * The power-loss harness (test/README.md, "Power-loss harness"): one scenario run is a simulated
 * device, an `ota-agent` command run in a child process under the storage interposer
 * (fault-fs.ts) with a kill point or injected faults, the power-cut post-mortem
 * (power-loss.ts), then power-ons with the boot-script simulator and a fresh agent (in-process,
 * no faults) until the device rests, checking the invariants after every step.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeEnv, parseData, splitCopy } from '../../agent/src/bootenv/index.js';
import { encodeDelta } from '../../fleet/src/delta/index.js';
import { serveArtifacts, type ArtifactServer } from '../../fleet/src/serve/index.js';
import type { FaultPlan, FaultSpec, KillSpec, LogRecord } from './fault-fs.js';
import { powerCut, readLog, snapshotDevice, stateAt, type CutMode, type CutReport } from './power-loss.js';
import { mulberry32 } from './prng.js';
import { agent, agentOk, fleetOk, fwPrintenv, statusJson, writeImage } from './sim-flow.js';

/** The repository's build tree (the agent the child runs unless a mutant is given). */
export const BUILD_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fault-child.js', import.meta.url));
const CONFIG = 'dev/agent.json';
const ENV_COPY_BYTES = 0x4000;

/** Images, keys, a full and a delta release of v2, served over HTTP (a resumed install downloads). */
export interface Fixture {
  readonly root: string;
  readonly server: ArtifactServer;
  readonly sha: { readonly v1: string; readonly v2: string };
  readonly sizeBytes: number;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Make the fixture in `root`: 1 MiB images, release `full` (64 KiB segments) and `delta` (from v1, 16 KiB segments). */
export async function makeFixture(root: string): Promise<Fixture> {
  const sizeBytes = 1024 * 1024;
  await fleetOk(root, 'keygen', '--out', 'keys');
  writeImage(root, 'v1.img', sizeBytes);
  const v2 = readFileSync(join(root, 'v1.img'));
  const rng = mulberry32(2);
  for (let at = 4096; at < sizeBytes; at += 96 * 1024) for (let i = 0; i < 8192; i++) v2[at + i] = Math.floor(rng() * 256);
  writeFileSync(join(root, 'v2.img'), v2);
  const common = ['--image', 'v2.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys'];
  await fleetOk(root, 'release', ...common, '--segment-size', String(64 * 1024), '--out', 'full');
  // Small delta container segments (the CLI cuts at 64 MiB of output): the delta is applied in
  // several fsynced, checkpointed steps, as a large image's would be.
  writeFileSync(join(root, 'v2.delta'), encodeDelta(readFileSync(join(root, 'v1.img')), v2, { segmentDecodedBytes: 16 * 1024 }).delta);
  await fleetOk(root, 'release', ...common, '--segment-size', String(16 * 1024), '--out', 'delta', '--delta', 'v2.delta@v1.img');
  return { root, server: await serveArtifacts(root), sha: { v1: sha256(readFileSync(join(root, 'v1.img'))), v2: sha256(v2) }, sizeBytes };
}


/** Which command the child runs, and what the device went through before. */
export type Command = 'install' | 'boot' | 'boot-fail';
/** `spent`: armed, then B's three tries and two of A's pass without the agent: the command boots A's last try. */
export type Prep = 'fresh' | 'armed' | 'installing' | 'spent';

/** One scenario: a command under a kill point or faults, and where the device must end. */
export interface Scenario {
  readonly name: string;
  readonly release: 'full' | 'delta';
  readonly prep: Prep;
  readonly command: Command;
  readonly kill?: (rng: () => number) => KillSpec;
  readonly faults?: (rng: () => number) => FaultSpec[];
  /** The release the device must run at rest, and whether an operator may run `install` once more (after a failed install). */
  readonly expect: { readonly version: 1 | 2; readonly reinstall: boolean };
}

/** What one run found. */
export interface RunResult {
  readonly label: string;
  readonly cut: CutReport;
  readonly killed: boolean;
  readonly childOutput: string;
  readonly boots: number;
  readonly violations: readonly string[];
}

function argvOf(command: Command, release: string): string[] {
  if (command === 'install') return ['--config', CONFIG, 'install', release];
  return ['--config', CONFIG, 'sim', 'boot', ...(command === 'boot-fail' ? ['--fail-health'] : [])];
}

/** Run the child under `plan`; resolves when it is gone. */
function runChild(cwd: string, argv: readonly string[], plan: FaultPlan, build: string): Promise<{ killed: boolean; code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CHILD, ...argv], {
      cwd, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OTA_FAULT_PLAN: JSON.stringify(plan), OTA_AGENT_BUILD: build, OTA_LOG_FORMAT: 'text' },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`fault child ${argv.join(' ')} hung:\n${out}`)); }, 60_000);
    child.on('exit', (code, signal) => { clearTimeout(timer); done({ killed: signal === 'SIGKILL', code, out }); });
  });
}

/** Violations found so far in one run; a run collects them all instead of stopping at the first. */
class Checks {
  readonly found: string[] = [];
  constructor(private readonly label: string) {}
  that(ok: boolean, what: string): void { if (!ok) this.found.push(`${this.label}: ${what}`); }
}

const canonical = (vars: ReadonlyMap<string, string>): string => JSON.stringify([...vars].sort(([a], [b]) => a.localeCompare(b)));

function copiesOf(env: Buffer): Buffer[] {
  return [env.subarray(0, ENV_COPY_BYTES), env.subarray(ENV_COPY_BYTES, 2 * ENV_COPY_BYTES)];
}

function primaryOf(vars: ReadonlyMap<string, string>): string | undefined {
  return (vars.get('BOOT_ORDER') ?? '').split(' ').find((s) => Number(vars.get(`BOOT_${s}_LEFT`) ?? '0') > 0);
}

/**
 * From the log: every env state a copy may legitimately hold (before the run, after each env
 * write), and, for each env write that made slot B the primary, that every earlier write of
 * slot B was fsynced and slot B was read back whole after its last write.
 */
function checkLog(log: readonly LogRecord[], snapshot: string, imageBytes: number, check: Checks): Set<string> {
  const inoOf = (path: string): number | undefined => log.find((r): r is Extract<LogRecord, { t: 'base' }> => r.t === 'base' && r.path === path)?.ino;
  const envIno = inoOf('env.img');
  const slotIno = inoOf('slot-B.img');
  const legit = new Set<string>();
  const envAt = (upTo: number): Buffer => (envIno === undefined ? Buffer.alloc(0) : stateAt(log, snapshot, upTo).data.get(envIno) ?? Buffer.alloc(0));
  const chosen = (env: Buffer): ReadonlyMap<string, string> | undefined => { try { return decodeEnv(copiesOf(env), 'incremental').vars; } catch { return undefined; } };
  const addLegit = (env: Buffer): void => {
    for (const c of copiesOf(env)) { const s = splitCopy(c, true); if (s.crcValid) legit.add(canonical(parseData(s.data))); }
  };
  let before = envAt(0);
  addLegit(before);
  log.forEach((r, i) => {
    if (r.t !== 'write' || r.ino !== envIno) return;
    const after = envAt(i + 1);
    addLegit(after);
    const was = chosen(before);
    const now = chosen(after);
    before = after;
    if (now === undefined || primaryOf(now) !== 'B' || (was !== undefined && primaryOf(was) === 'B')) return;
    const slotWrites = log.slice(0, i).map((x, j) => ({ x, j })).filter(({ x }) => x.t === 'write' && x.ino === slotIno);
    const lastWrite = slotWrites.at(-1)?.j ?? -1;
    const lastSync = log.slice(0, i).map((x, j) => ({ x, j })).filter(({ x }) => x.t === 'fsync' && x.ino === slotIno).at(-1)?.j ?? -1;
    check.that(lastSync > lastWrite, `the env made slot B primary (log record ${i}) before its last write (record ${lastWrite}) was fsynced`);
    const covered = new Array<boolean>(Math.ceil(imageBytes / 4096)).fill(false);
    for (const x of log.slice(lastWrite + 1, i)) {
      if (x.t === 'read' && x.ino === slotIno) for (let b = Math.floor(x.off / 4096); b * 4096 < x.off + x.len && b < covered.length; b++) covered[b] = true;
    }
    check.that(covered.every(Boolean), `the env made slot B primary (log record ${i}) without slot B being read back whole after its last write`);
  });
  return legit;
}

/** The env now: a valid copy, every valid copy a legitimate state, the one U-Boot picks the same for fw_printenv and our codec. */
function checkEnv(dir: string, legit: ReadonlySet<string>, check: Checks, where: string): void {
  const env = readFileSync(join(dir, 'dev/env.img'));
  const valid = copiesOf(env).map((c) => splitCopy(c, true)).filter((s) => s.crcValid);
  check.that(valid.length > 0, `${where}: no env copy is valid`);
  for (const s of valid) check.that(legit.has(canonical(parseData(s.data))), `${where}: an env copy holds a state no write produced: ${canonical(parseData(s.data))}`);
  if (valid.length === 0) return;
  const ours = decodeEnv(copiesOf(env), 'incremental').vars;
  check.that(ours.has('OTA_BOOT_COUNT'), `${where}: the env lost the boot script's variables (defaults)`);
  check.that(canonical(fwPrintenv(join(dir, 'dev/fw_env.config'))) === canonical(ours), `${where}: fw_printenv and our codec disagree`);
}

function installedFloor(dir: string): number {
  const state: unknown = JSON.parse(readFileSync(join(dir, 'dev/data/state.json'), 'utf8'));
  return typeof state === 'object' && state !== null && 'installedVersion' in state && typeof state.installedVersion === 'number' ? state.installedVersion : -1;
}

/** The slot `slot` holds a complete image it may hold: A only v1 (never written), B only v2. */
function checkSlot(dir: string, fx: Fixture, slot: string, check: Checks, where: string): void {
  const held = sha256(readFileSync(join(dir, `dev/slot-${slot}.img`)).subarray(0, fx.sizeBytes));
  check.that(held === (slot === 'A' ? fx.sha.v1 : fx.sha.v2), `${where}: slot ${slot}, which the bootloader boots, does not hold a complete verified image`);
}

/** After the cut: power on with the boot-script simulator, run the post-boot step, until rest. */
async function recover(dir: string, fx: Fixture, s: Scenario, fromLog: ReadonlySet<string>, check: Checks): Promise<number> {
  // The fresh agent runs in-process and is never cut: the states its complete writes leave are legitimate too.
  const legit = new Set(fromLog);
  const addNow = (): void => { for (const e of envStatesNow(dir)) legit.add(e); };
  let floor = installedFloor(dir);
  check.that(floor >= 1, `after the cut: the installed-version floor went from 1 to ${floor}`);
  let reinstalled = false;
  const maxBoots = 6;
  const earlier = check.found.length;
  for (let boot = 1; boot <= maxBoots && check.found.length === earlier; boot++) {
    const where = `power-on ${boot}`;
    checkEnv(dir, legit, check, `${where}, before U-Boot`);
    const u = await agent(dir, ...argvOf('boot', s.release), '--no-agent');
    addNow();
    check.that(u.code === 0, `${where}: sim boot --no-agent exited ${u.code}: ${u.stderr}`);
    const booted = /U-Boot booted slot (\w)/.exec(u.stdout)?.[1] ?? '?';
    checkSlot(dir, fx, booted, check, where);
    const pb = await agent(dir, '--config', CONFIG, 'post-boot');
    check.that(pb.code === 0, `${where}: post-boot exited ${pb.code}: ${pb.stderr}`);
    const st = await statusJson(dir, CONFIG);
    addNow();
    checkEnv(dir, legit, check, `${where}, after the agent`);
    checkSlot(dir, fx, String(st['primary']), check, `${where}, next boot`);
    const f = installedFloor(dir);
    check.that(f >= floor, `${where}: the installed-version floor went from ${floor} to ${f}`);
    floor = f;
    if (st['phase'] !== 'idle' || st['booted'] !== st['primary']) continue;
    check.that(st['lastUpdate'] !== null, `${where}: at rest without reporting the last update`);
    if (st['version'] === s.expect.version) return boot;
    if (s.expect.reinstall && !reinstalled) {
      reinstalled = true;
      await agentOk(dir, ...argvOf('install', resolve(fx.root, s.release)));
      addNow();
      continue;
    }
    check.that(false, `${where}: at rest running release ${String(st['version'])}, not ${s.expect.version} (last update ${JSON.stringify(st['lastUpdate'])})`);
    return boot;
  }
  check.that(check.found.length > earlier, `no rest after ${maxBoots} power-ons`);
  return maxBoots;
}

/** Env states the fresh agent wrote (no log there): its writes are complete, so both valid copies are legitimate. */
function envStatesNow(dir: string): string[] {
  return copiesOf(readFileSync(join(dir, 'dev/env.img'))).map((c) => splitCopy(c, true)).filter((s) => s.crcValid).map((s) => canonical(parseData(s.data)));
}

/** Bring a fresh device to where the scenario starts. */
async function prepare(dir: string, fx: Fixture, s: Scenario, build: string): Promise<void> {
  await agentOk(fx.root, 'sim', 'create', join(dir, 'dev'), '--hardware', 'hw', '--root', 'keys/root.json', '--image', 'v1.img',
    '--version', '1', '--env', 'redundant', '--artifacts-url', `${fx.server.url}${s.release}/`);
  if (s.prep === 'armed' || s.prep === 'spent') await agentOk(dir, ...argvOf('install', resolve(fx.root, s.release)));
  if (s.prep === 'spent') for (let i = 0; i < 5; i++) await agentOk(dir, ...argvOf('boot', s.release), '--no-agent');
  if (s.prep === 'installing') {
    // A process kill (not a power cut) at the first slot write leaves the journal in `installing`.
    const plan: FaultPlan = { deviceDir: join(dir, 'dev'), logPath: join(dir, 'prep.log'), faults: [], kill: { kind: 'write', path: 'slot-B.img', nth: 1 } };
    const r = await runChild(dir, argvOf('install', resolve(fx.root, s.release)), plan, build);
    if (!r.killed) throw new Error(`${s.name}: the preparing install was not killed at its first slot write:\n${r.out}`);
  }
}

/** One run of `s` with `seed` against the agent in `build`. */
export async function runScenario(fx: Fixture, s: Scenario, seed: number, build = BUILD_ROOT, mode?: CutMode): Promise<RunResult> {
  const label = `${s.name} [${s.release}] seed ${seed}${build === BUILD_ROOT ? '' : ' (mutant)'}`;
  const dir = join(fx.root, 'runs', `${s.name.replace(/\W+/g, '-')}-${s.release}-${seed}-${build === BUILD_ROOT ? 'b' : 'm'}`);
  await prepare(dir, fx, s, build);
  const snapshot = join(dir, 'snapshot');
  snapshotDevice(join(dir, 'dev'), snapshot);
  const rng = mulberry32(seed * 7919 + 17);
  const plan: FaultPlan = {
    deviceDir: join(dir, 'dev'), logPath: join(dir, 'run.log'),
    faults: s.faults?.(rng) ?? [], ...(s.kill === undefined ? {} : { kill: s.kill(rng) }),
  };
  const child = await runChild(dir, argvOf(s.command, resolve(fx.root, s.release)), plan, build);
  const check = new Checks(label);
  if (s.kill !== undefined) check.that(child.killed, `the kill point ${JSON.stringify(plan.kill)} was never reached`);
  else check.that(!child.killed && child.code !== null, 'the child crashed instead of failing cleanly');
  const log = readLog(plan.logPath);
  const legit = checkLog(log, snapshot, fx.sizeBytes, check);
  const cut = powerCut(join(dir, 'dev'), snapshot, plan.logPath, seed, mode);
  // Recovery runs even after a violation in the log: what the device then does is part of the report.
  const boots = await recover(dir, fx, s, legit, check);
  // A failed run keeps its directory (device, snapshot, side log) for a look; OTA_POWER_KEEP=1 keeps every run's.
  if (check.found.length === 0 && process.env['OTA_POWER_KEEP'] !== '1') rmSync(dir, { recursive: true, force: true });
  return { label: `${label}, cut ${cut.mode} (${cut.kept} kept, ${cut.torn} torn, ${cut.dropped} dropped of ${cut.unsynced} unsynced)`, cut, killed: child.killed, childOutput: child.out, boots, violations: check.found.map((v) => `${v} [cut ${cut.mode}, replay: seed ${seed}]`) };
}
