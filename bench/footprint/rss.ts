/**
 * Memory of a running process as the kernel counts it: VmRSS (resident now) and VmHWM
 * (the resident peak so far) from /proc/PID/status, sampled from outside the process so
 * the measurement adds nothing to what it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const KiB = 1024;

/** One reading of /proc/PID/status. */
export interface Rss { readonly rssBytes: number; readonly hwmBytes: number }

/** VmRSS and VmHWM of `pid` now, or undefined once the process has gone. */
export function readRss(pid: number): Rss | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]) * KiB;
  };
  const rssBytes = field('VmRSS');
  const hwmBytes = field('VmHWM');
  // A zombie has no memory lines left.
  return rssBytes === undefined || hwmBytes === undefined ? undefined : { rssBytes, hwmBytes };
}

/** Samples a process every `intervalMs` until stopped; keeps the last reading and the highest VmHWM seen. */
export class Sampler {
  private timer: NodeJS.Timeout;
  last: Rss | undefined;
  peakBytes = 0;

  constructor(readonly pid: number, intervalMs = 20) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Take one reading now. */
  sample(): void {
    const r = readRss(this.pid);
    if (r === undefined) return;
    this.last = r;
    this.peakBytes = Math.max(this.peakBytes, r.hwmBytes);
  }

  /** Stop sampling; returns the highest VmHWM seen. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peakBytes;
  }
}

/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resident memory of a process at rest: wait `settleMs`, then the median of `count`
 * VmRSS readings `intervalMs` apart (one reading can catch a GC or a timer mid-flight).
 */
export async function restingRss(pid: number, settleMs = 3000, count = 9, intervalMs = 150): Promise<number> {
  await sleep(settleMs);
  const readings: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = readRss(pid);
    if (r === undefined) throw new Error(`process ${pid} exited while its resting memory was measured`);
    readings.push(r.rssBytes);
    await sleep(intervalMs);
  }
  readings.sort((a, b) => a - b);
  return readings[Math.floor(readings.length / 2)] ?? 0;
}

/** Resident memory of an idle process shortly after start, and at rest after V8's memory reducer has run. */
export interface IdleRss { readonly startedBytes: number; readonly restBytes: number }

/**
 * V8 shrinks an idle heap with a full GC (its memory reducer) some seconds after the last
 * activity: measure 3 s after `pid` settled, and again `restMs` later, when it is at rest.
 */
export async function idleRss(pid: number, restMs = 20_000): Promise<IdleRss> {
  const startedBytes = await restingRss(pid, 3000);
  const restBytes = await restingRss(pid, restMs);
  return { startedBytes, restBytes };
}

/** A child process with its output collected (for the error message when it fails). */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  output(): string;
  readonly exited: Promise<number | null>;
  /** SIGKILL it (no-op once it has exited) and wait for the exit. */
  kill(): Promise<void>;
}

/** Spawn `NODE NODE_ARGS...` with `env` (`node`: path of the node to run, default this one). */
export function spawnNode(nodeArgs: readonly string[], env: NodeJS.ProcessEnv, cwd: string, node = process.execPath): Child {
  const child = spawn(node, [...nodeArgs], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start node ${nodeArgs.join(' ')}`);
  let out = '';
  const keep = (b: Buffer): void => { out = (out + b.toString()).slice(-20_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child, pid: child.pid, output: () => out, exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
