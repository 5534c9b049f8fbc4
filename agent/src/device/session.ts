/**
 * One run of the update machine on a device: the ports, the journal, the
 * machine settings from the config, and how this run reboots. Used by every
 * command that moves an update along (`install`, `post-boot`, `mark-*`,
 * `rollback`, `sim boot`, `run`).
 */
import { readFile } from 'node:fs/promises';
import { OtaError, withContext } from '../errors/index.js';
import { spawnCommand } from '../health/index.js';
import { Machine, corruptJournalResume } from '../machine/index.js';
import type { Job, JournalRecord, RunResult, State } from '../machine/index.js';
import { powerOn } from '../sim/power.js';
import type { Device } from './device.js';
import { agentPorts } from './ports.js';
import type { PortOptions } from './ports.js';

/**
 * How a reboot happens in this run: `stop` ends the run (the journal resumes it
 * after the next boot); `sim` power-cycles the simulated device and carries on;
 * `device` runs the config's reboot command and ends the run.
 */
export type RebootMode = 'stop' | 'sim' | 'device';

/** Options of a session: the ports' options without the reboot, which the mode gives. */
export type SessionOptions = Omit<PortOptions, 'reboot'> & {
  readonly rebootMode: RebootMode;
  /** Called after every transition with the state entered (the daemon publishes its status document here). */
  readonly onTransition?: (to: State) => void;
  /** Runs before the reboot command of a `device` reboot (the daemon flushes its last status document). */
  readonly beforeReboot?: () => Promise<void>;
};

/** A machine bound to a device, stoppable by a reboot or by `signal`. */
export class Session {
  readonly machine: Machine;
  private readonly stop = new AbortController();
  /** Aborted by a `stop`/`device` reboot or by the outer signal. */
  readonly signal: AbortSignal;
  /** Set when this run ended because it asked for a reboot. */
  rebootRequested = false;

  constructor(readonly device: Device, private readonly options: SessionOptions, outer?: AbortSignal) {
    this.signal = outer === undefined ? this.stop.signal : anySignal([this.stop.signal, outer]);
    const ports = agentPorts(device, { ...options, reboot: () => this.reboot() });
    const { maxSaves, deadlinesMs } = device.config.machine;
    this.machine = new Machine(ports, device.journal, {
      maxSaves, deadlinesMs,
      onTransition: (from, event, to) => {
        options.log.event('info', 'update.transition', `update: ${from} -${event}-> ${to}`, { from, on: event, to });
        options.onTransition?.(to);
      },
    });
  }

  /** The journal as saved. */
  record(): Promise<JournalRecord> {
    return journalRecord(this.device);
  }

  /** Resume whatever the journal says is unfinished. */
  resume(): Promise<RunResult> {
    return this.machine.resume(this.signal);
  }

  /** Try again, from rest, the committed slot a lost env took out of first place (see `postBoot`). */
  restore(job: Job): Promise<RunResult> {
    return this.machine.restore(job, this.signal);
  }

  /** Give up the update in flight before its trial is armed (Machine.abandon): reported, then rest. */
  abandon(reason: string): Promise<RunResult> {
    return this.machine.abandon(reason, this.signal);
  }

  /** Start an update from rest. */
  start(notice: Uint8Array): Promise<RunResult> {
    return this.machine.start(notice, this.signal);
  }

  private async reboot(): Promise<void> {
    const { config, env } = this.device;
    if (this.options.rebootMode === 'sim') {
      const bootloader = config.bootloader;
      if (bootloader.kind !== 'simulator') throw new OtaError('SIM_CONFIG', `agent config ${config.source}: a simulated reboot needs "bootloader": "simulator"`);
      const script = await readFile(bootloader.scriptPath, 'utf8').catch((err: unknown) => { throw withContext(`boot script ${bootloader.scriptPath}`, err); });
      const booted = await powerOn(env, config.cmdlinePath, script);
      this.options.log.info(`simulated reboot: U-Boot booted slot ${booted.slot}`, { cmdline: booted.bootargs });
      return;
    }
    this.rebootRequested = true;
    if (this.options.rebootMode === 'device') {
      await this.options.beforeReboot?.();
      this.options.log.info(`rebooting: ${config.rebootCommand.join(' ')}`);
      const r = await spawnCommand(config.rebootCommand, new AbortController().signal);
      if (r.exitCode !== 0) throw new OtaError('REBOOT_FAILED', `reboot command ${config.rebootCommand.join(' ')} exited ${String(r.exitCode)}: ${r.stderrTail}`);
    }
    this.stop.abort(new OtaError('REBOOT', 'stopped for a reboot'));
  }
}

/** The journal of `device`: `idle` when there is none; one that cannot be read shows as the state `resume` takes it to. */
export async function journalRecord(device: Device): Promise<JournalRecord> {
  const loaded = await device.journal.load();
  if (loaded.kind === 'ok') return loaded.record;
  return { state: loaded.kind === 'corrupt' ? corruptJournalResume : 'idle', highestSequence: 0 };
}

/** A signal that fires when any of `signals` does (AbortSignal.any is Node 20+). */
function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  const c = new AbortController();
  for (const s of signals) {
    if (s.aborted) { c.abort(s.reason); break; }
    s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}
