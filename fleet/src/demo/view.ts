/**
 * The demo's live progress: one compact line per device (version, phase, a
 * progress bar, the booted slot, the last error), redrawn in place on a
 * terminal; elsewhere (a pipe, a log, a test) a line is appended whenever a
 * device's phase, version or error changes. Events (steps of the demo, the
 * rollout controller's decisions) are printed above the device lines.
 */
import type { DeviceReport } from '../status/index.js';

/** Where the view writes. */
export interface ViewOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width: redrawn lines are cut to it (a wrapped line would break the redraw). */
  readonly columns?: number;
}

const BAR_CELLS = 16;
const ERROR_CHARS = 60;

/** `12.3s` since `startMs`. */
function elapsed(startMs: number): string {
  return `${((Date.now() - startMs) / 1000).toFixed(1).padStart(5)}s`;
}

/** The install's progress bar (blank in the phases that report none). */
function bar(r: DeviceReport): string {
  if (r.progress === null) return ' '.repeat(BAR_CELLS + 8);
  const fraction = r.progress;
  const full = Math.round(fraction * BAR_CELLS);
  return `[${'#'.repeat(full)}${'.'.repeat(BAR_CELLS - full)}] ${String(Math.round(fraction * 100)).padStart(3)} %`;
}

/** One device's line. `failing` marks the device set up to fail its health check. */
export function deviceLine(id: string, r: DeviceReport | undefined, online: boolean | undefined, failing: boolean): string {
  const mark = failing ? '!' : ' ';
  if (r === undefined) return `${mark} ${id.padEnd(8)} (no status yet)`;
  const version = `v${r.version ?? '?'}`;
  const error = r.lastError === null ? '' : `  error: ${r.lastError.length > ERROR_CHARS ? `${r.lastError.slice(0, ERROR_CHARS - 3)}...` : r.lastError}`;
  return `${mark} ${id.padEnd(8)} ${version.padEnd(4)} ${r.phase.padEnd(13)} ${bar(r)} slot ${r.booted}${online === false ? ' offline' : ''}${error}`;
}

/** The live view of a fleet of `ids`. */
export class LiveView {
  private drawn = 0;
  private readonly last = new Map<string, string>();
  private closed = false;

  constructor(private readonly out: ViewOutput, private readonly ids: readonly string[], private readonly failing: ReadonlySet<string>,
    readonly startMs: number) {}

  private get tty(): boolean { return this.out.isTTY === true; }

  /** Print an event line (above the device lines on a terminal). */
  event(text: string): void {
    this.erase();
    this.out.write(`${elapsed(this.startMs)}  ${text}\n`);
    this.redraw();
  }

  /** Show the latest reports. */
  update(reports: ReadonlyMap<string, DeviceReport>, online: ReadonlyMap<string, boolean>): void {
    if (this.closed) return;
    const lines = new Map(this.ids.map((id) => [id, deviceLine(id, reports.get(id), online.get(id), this.failing.has(id))]));
    if (this.tty) {
      for (const [id, line] of lines) this.last.set(id, line);
      this.erase();
      this.redraw();
      return;
    }
    for (const id of this.ids) {
      const r = reports.get(id);
      const key = r === undefined ? '' : `${r.version ?? '?'} ${r.phase} ${r.lastError ?? ''}`;
      if (this.last.get(id) === key) continue;
      this.last.set(id, key);
      if (r !== undefined) this.out.write(`${elapsed(this.startMs)}    ${lines.get(id) ?? ''}\n`);
    }
  }

  /** Stop redrawing; on a terminal the last device lines stay on screen. */
  close(): void {
    this.closed = true;
    this.drawn = 0;
  }

  private erase(): void {
    if (!this.tty || this.drawn === 0) return;
    this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (!this.tty || this.closed || this.last.size === 0) return;
    const columns = this.out.columns ?? 0;
    const width = columns > 20 ? columns - 1 : 119;
    const lines = this.ids.map((id) => (this.last.get(id) ?? `  ${id}`).slice(0, width));
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
