/**
 * The demo's fleet: simulated devices made with `ota-agent sim create` (file-backed
 * slots and U-Boot env), each running the real agent daemon (`ota-agent run`) in
 * its own process; reboots go through the boot-script simulator. One device can
 * be given a required health check that fails, so its trial of a release reverts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { runQuiet } from './quiet.js';

/** The real agent bin (the demo runs from build/fleet/src/demo/). */
const AGENT_BIN = fileURLToPath(new URL('../../../../bin/ota-agent.js', import.meta.url));

/** The health check that makes a device's trial fail: a required command that exits 1. */
export const FAILING_CHECK = { kind: 'command', name: 'app-selftest', argv: ['false'], level: 'required' } as const;

/** One device of the demo fleet. */
export interface DemoDevice {
  readonly deviceId: string;
  readonly dir: string;
  /** Set up to fail its health check. */
  readonly failing: boolean;
}

/** Where the fleet is and what the devices connect to. */
export interface FleetSetup {
  readonly dir: string;
  readonly hardware: string;
  readonly rootJson: string;
  readonly imagePath: string;
  readonly brokerUrl: string;
  /** MQTT 3.1.1 (4) for the embedded aedes broker, 5 for an external one (mosquitto, a cluster). */
  readonly protocolVersion: 4 | 5;
  readonly artifactsUrl: string;
}

/** `sim create` one device; `failing` adds the failing required check to its agent.json. */
export async function createDevice(s: FleetSetup, deviceId: string, failing: boolean): Promise<DemoDevice> {
  const dir = join(s.dir, deviceId);
  await runQuiet(agentMain, 'ota-agent', ['sim', 'create', dir, '--hardware', s.hardware, '--root', s.rootJson, '--image', s.imagePath,
    '--version', '1', '--mqtt-url', s.brokerUrl, '--protocol-version', String(s.protocolVersion), '--artifacts-url', s.artifactsUrl], s.dir);
  const configPath = join(dir, 'agent.json');
  const config: unknown = JSON.parse(await fsp.readFile(configPath, 'utf8'));
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new OtaError('DEMO', `${configPath}: not a JSON object`);
  const checks = failing ? [FAILING_CHECK] : [];
  await fsp.writeFile(configPath, `${JSON.stringify({ ...config, health: { deadlineMs: 20_000, checks } }, null, 2)}\n`);
  return { deviceId, dir, failing };
}

/** The agent daemons of the fleet, one process each, their output in DIR/agent.log. */
export class AgentProcesses {
  private readonly children = new Map<string, ChildProcess>();
  /** Exit codes of daemons that ended (a daemon should not end during the demo). */
  readonly exits = new Map<string, number | null>();
  private readonly logs = new Map<string, string>();
  /** Called when a daemon ends. */
  onExit: (deviceId: string) => void = () => undefined;

  /** Start `ota-agent --config DIR/agent.json run` for `d`. */
  start(d: DemoDevice): void {
    const log = createWriteStream(join(d.dir, 'agent.log'));
    const child = spawn(process.execPath, [AGENT_BIN, '--config', join(d.dir, 'agent.json'), 'run'], { cwd: d.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.on('exit', (code) => { this.exits.set(d.deviceId, code); this.children.delete(d.deviceId); log.end(); this.onExit(d.deviceId); });
    this.children.set(d.deviceId, child);
    this.logs.set(d.deviceId, join(d.dir, 'agent.log'));
  }

  /** Throws DEMO_AGENT_EXITED, with the end of its log, when a daemon has ended. */
  async throwIfExited(): Promise<void> {
    const [deviceId, code] = [...this.exits][0] ?? [];
    if (deviceId === undefined) return;
    const log = await fsp.readFile(this.logs.get(deviceId) ?? '', 'utf8').catch(() => '');
    throw new OtaError('DEMO_AGENT_EXITED', `the agent of ${deviceId} exited (code ${code ?? 'signal'}); its last log lines:\n${log.split('\n').slice(-12).join('\n')}`);
  }

  /** SIGTERM every daemon, SIGKILL those still running after `graceMs`. */
  async stopAll(graceMs = 3000): Promise<void> {
    const running = [...this.children.values()];
    const exited = running.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve();
      else c.once('exit', () => resolve());
    }));
    for (const c of running) c.kill('SIGTERM');
    const timer = setTimeout(() => { for (const c of running) c.kill('SIGKILL'); }, graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
  }

  /** Last resort on process exit: SIGKILL whatever still runs (synchronous). */
  killNow(): void {
    for (const c of this.children.values()) c.kill('SIGKILL');
  }
}
