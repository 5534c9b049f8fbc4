/**
 * The core scenario table of the update machine (Mender-style): a fault injected at one port (an
 * error, a power cut before or after the work, a hang past the deadline), the expected chain of
 * states (`|` marks a power cut: the runner stopped, the device powered on again, a fresh runner
 * resumed from the journal), the slot booted at rest and the outcome reported. Written once and
 * played against every device (test/contract/machine/scenarios.test.ts): the fake and the real
 * ports on a simulated device. Deadlines never run on the wall clock: a hang fires its state's
 * deadline at once through the injected timers.
 */
import { Machine } from '../../agent/src/machine/index.js';
import type { Job, JournalStore, MachinePorts, Report, State, Timers } from '../../agent/src/machine/index.js';

/** A fault injected into one port: thrown error, hang until the deadline, power cut before or after the work. */
export type Fault = 'error' | 'hang' | 'cutBefore' | 'cutAfter';
/** The port names faults attach to. */
export type PortName = 'verify' | 'install' | 'verifySlot' | 'arm' | 'reboot' | 'health' | 'commit' | 'revert' | 'report';

export const HEAD = 'verifying installing verifyingSlot arming rebooting checking';
export const OK = `${HEAD} committing reporting idle`;
export const BACK = 'reverting rebootingBack reverting reporting idle';

/** One row of the table. */
export interface Scenario {
  name: string;
  port?: PortName;
  fault?: Fault;
  sticky?: boolean;
  /** The cut kills only the agent: the device keeps running (no power-on). */
  agentOnly?: boolean;
  healthy?: boolean;
  /** The first power-on after the cut finds the env lost (the bootloader's defaults boot A). */
  envLost?: boolean;
  /** The trial slot's image never reaches the agent (the kernel panics): its boots pass unseen until the counters move on. */
  broken?: boolean;
  /** Boots after the trial reboot whose system never reaches the agent (watchdog, power cut during boot). */
  unseen?: number;
  chain: string;
  booted: 'A' | 'B';
  outcome: string;
}

/** The table. */
export const scenarios: readonly Scenario[] = [
  { name: 'no fault',                                                         chain: OK,                                                    booted: 'B', outcome: 'installed' },
  { name: 'verify refuses',         port: 'verify',     fault: 'error',      chain: 'verifying reporting idle',                            booted: 'A', outcome: 'rejected' },
  { name: 'verify hangs',           port: 'verify',     fault: 'hang',       chain: 'verifying reporting idle',                            booted: 'A', outcome: 'rejected' },
  { name: 'cut during verify',      port: 'verify',     fault: 'cutBefore',  chain: `verifying | ${OK}`,                                   booted: 'B', outcome: 'installed' },
  { name: 'install fails',          port: 'install',    fault: 'error',      chain: 'verifying installing reporting idle',                 booted: 'A', outcome: 'failed' },
  { name: 'install hangs',          port: 'install',    fault: 'hang',       chain: 'verifying installing reporting idle',                 booted: 'A', outcome: 'failed' },
  { name: 'cut mid-install',        port: 'install',    fault: 'cutAfter',   chain: `verifying installing | installing verifyingSlot arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'install crash loop',     port: 'install',    fault: 'cutAfter',   sticky: true, chain: 'verifying installing | installing | installing | installing reporting idle', booted: 'A', outcome: 'failed' },
  { name: 'slot digest mismatch',   port: 'verifySlot', fault: 'error',      chain: 'verifying installing verifyingSlot reporting idle',   booted: 'A', outcome: 'failed' },
  { name: 'cut before slot check',  port: 'verifySlot', fault: 'cutBefore',  chain: `verifying installing verifyingSlot | verifyingSlot arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'arm write fails',        port: 'arm',        fault: 'error',      chain: 'verifying installing verifyingSlot arming reverting reporting idle', booted: 'A', outcome: 'reverted' },
  { name: 'cut before arm write',   port: 'arm',        fault: 'cutBefore',  chain: 'verifying installing verifyingSlot arming | arming rebooting checking committing reporting idle', booted: 'B', outcome: 'installed' },
  { name: 'cut after arm write',    port: 'arm',        fault: 'cutAfter',   chain: 'verifying installing verifyingSlot arming | arming rebooting checking committing reporting idle', booted: 'B', outcome: 'installed' },
  { name: 'cut before reboot',      port: 'reboot',     fault: 'cutBefore',  chain: `${HEAD.replace(' checking', '')} | checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'agent dies before reboot', port: 'reboot', fault: 'cutBefore', agentOnly: true, chain: `${HEAD.replace(' checking', '')} | checking rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'health fails',           port: 'health',     fault: 'error',      chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'health says unhealthy',  healthy: false,                          chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'health hangs',           port: 'health',     fault: 'hang',       chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'cut during health',      port: 'health',     fault: 'cutBefore',  chain: `${HEAD} | checking committing reporting idle`,        booted: 'B', outcome: 'installed' },
  { name: 'health crash loop',      port: 'health',     fault: 'cutBefore',  sticky: true, chain: `${HEAD} | checking | checking | checking reverting reporting idle`, booted: 'A', outcome: 'reverted' },
  { name: 'never reaches agent',    broken: true,                           chain: `${HEAD} reverting reporting idle`,                    booted: 'A', outcome: 'reverted' },
  // issue 19: B's three tries and two of A's boots pass unseen; A's last try runs the agent with every slot
  // out of tries, so B looks primary again (the script refills): the trial failed, it is not retried
  { name: 'trial and fall-back boots unseen', unseen: 5,                   chain: `${HEAD} reverting reporting idle`,                    booted: 'A', outcome: 'reverted' },
  // one more unseen boot: the script refills and boots B, the trial slot, afresh: its tries ran out all the same
  { name: 'refilled into the trial slot',     unseen: 6,                   chain: `${HEAD} ${BACK}`,                                     booted: 'A', outcome: 'reverted' },
  { name: 'commit write fails',     port: 'commit',     fault: 'error',      chain: `${HEAD} committing ${BACK}`,                          booted: 'A', outcome: 'reverted' },
  { name: 'cut after commit write', port: 'commit',     fault: 'cutAfter',   chain: `${HEAD} committing | committing reporting idle`,      booted: 'B', outcome: 'installed' },
  // the env was lost during the trial boot (before the check): A boots; the trial of B is armed again, not failed
  { name: 'env lost in the trial',  port: 'health', fault: 'cutBefore', envLost: true,
    chain: `${HEAD} | checking arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  // the arming write was lost before the reboot: the same
  { name: 'env lost after arming',  port: 'reboot', fault: 'cutBefore', envLost: true,
    chain: `${HEAD.replace(' checking', '')} | checking arming rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  // the trial passed, then the env was lost before the commit stuck: A boots; the commit makes B primary and reboots into it
  { name: 'env lost before commit', port: 'commit', fault: 'cutBefore', envLost: true,
    chain: `${HEAD} committing | committing rebooting checking committing reporting idle`, booted: 'B', outcome: 'installed' },
  { name: 'revert write fails',     port: 'revert',     fault: 'error',      healthy: false, chain: `${HEAD} reverting rebootingBack ${BACK}`, booted: 'A', outcome: 'reverted' },
  { name: 'cut before revert',      port: 'revert',     fault: 'cutBefore',  healthy: false, chain: `${HEAD} reverting | ${BACK}`,        booted: 'A', outcome: 'reverted' },
  { name: 'cut after revert',       port: 'revert',     fault: 'cutAfter',   healthy: false, chain: `${HEAD} reverting | reverting reporting idle`, booted: 'A', outcome: 'reverted' },
  { name: 'cut during report',      port: 'report',     fault: 'cutBefore',  chain: `${HEAD} committing reporting | reporting idle`,       booted: 'B', outcome: 'installed' },
];

/** What a scenario needs of a device: its ports and journal, power, and what it looks like at rest. */
export interface ScenarioDevice {
  readonly ports: MachinePorts;
  readonly journal: JournalStore;
  /** The notice of release 2 for this device. */
  readonly notice: Uint8Array;
  /** Every report the ports made, oldest first. */
  readonly reports: readonly Report[];
  /** Power on (the bootloader runs and boots a kernel; boots the scenario says pass unseen are skipped). */
  powerOn(): Promise<void>;
  /** Lose the boot env (every copy): the bootloader's defaults. */
  loseEnv(): Promise<void>;
  /** What post-boot does once the machine rests: the running committed slot gets back the tries its boots spent. */
  settle(): Promise<void>;
  /** The device at rest. */
  observe(): Promise<{ booted: string; next: string; bootedState: string; slotBHoldsRelease2: boolean }>;
  cleanup(): void;
}

/** Makes a fresh device (on release 1 in A, committed) for a scenario: `unseen` and `broken` are the scenario's. */
export type DeviceMaker = (s: Scenario) => Promise<ScenarioDevice>;

/** Deadlines of the states a hang is injected into (their length is never waited for). */
const DEADLINES_MS: Partial<Record<State, number>> = { verifying: 60_000, installing: 60_000, verifyingSlot: 60_000, checking: 60_000 };

/** Timers that fire a state's deadline when a hang begins, not after wall-clock time. */
class HangTimers implements Timers {
  private pending: (() => void) | undefined;
  schedule(fn: () => void): () => void {
    this.pending = fn;
    return () => { if (this.pending === fn) this.pending = undefined; };
  }
  hang(): void { const fn = this.pending; this.pending = undefined; fn?.(); }
}

/** `ports` with the scenario's fault at its port, a power cut being `cut()`, and the health verdict it says. */
function faulty(ports: MachinePorts, s: Scenario, cut: () => void, timers: HangTimers): MachinePorts {
  let armed = s.port !== undefined && s.fault !== undefined;
  const never = new Promise<never>(() => undefined);
  const around = async <T>(port: PortName, work: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    if (!armed || port !== s.port) return work();
    if (s.sticky !== true) armed = false;
    if (s.fault === 'error') throw new Error(`injected error in ${port}`);
    if (s.fault === 'cutBefore') { cut(); return never; }
    if (s.fault === 'hang') {
      const hung = new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      timers.hang();
      return hung;
    }
    await work();
    cut();
    return never;
  };
  return {
    verify: (notice, signal) => around('verify', () => ports.verify(notice, signal), signal),
    slots: () => ports.slots(),
    bootCounters: () => ports.bootCounters(),
    envLost: (target) => ports.envLost(target),
    install: (job, signal, checkpoint) => around('install', () => ports.install(job, signal, checkpoint), signal),
    verifySlot: (job, signal) => around('verifySlot', () => ports.verifySlot(job, signal), signal),
    arm: (job) => around('arm', () => ports.arm(job)),
    reboot: (job: Job) => around('reboot', () => ports.reboot(job)),
    health: (job, signal) => around('health', async () => (await ports.health(job, signal)) && s.healthy !== false, signal),
    commit: (job) => around('commit', () => ports.commit(job)),
    revert: (job) => around('revert', () => ports.revert(job)),
    report: (report) => around('report', () => ports.report(report)),
  };
}

/** Play `s` on a device from `make` to rest, powering it on again after each cut; the chain and the device. */
export async function play(s: Scenario, make: DeviceMaker): Promise<{ chain: string; device: ScenarioDevice }> {
  const device = await make(s);
  const chain: string[] = [];
  let controller = new AbortController();
  const timers = new HangTimers();
  const ports = faulty(device.ports, s, () => controller.abort(), timers);
  const machine = (): Machine => new Machine(ports, device.journal, { deadlinesMs: DEADLINES_MS, timers, onEnter: (st) => chain.push(st) });
  const first = machine();
  await first.resume(controller.signal);
  let result = await first.start(device.notice, controller.signal);
  for (let restarts = 0; result.kind === 'stopped'; restarts++) {
    if (restarts > 8) throw new Error(`${s.name}: no convergence: ${chain.join(' ')}`);
    chain.push('|');
    if (s.envLost === true && restarts === 0) await device.loseEnv();
    if (s.agentOnly !== true) await device.powerOn();
    controller = new AbortController();
    result = await machine().resume(controller.signal);
  }
  await device.settle();
  return { chain: chain.join(' '), device };
}
