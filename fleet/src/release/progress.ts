/**
 * Progress of `ota-fleet release`: on a terminal one bar redrawn in place per
 * step (making a delta, hashing an artifact); elsewhere (a pipe, a log, a test)
 * one plain line when a step starts and one when it ends, never a redraw.
 */

/** Where progress goes: the CLI context's stdout. */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const BAR_CELLS = 24;
/** Redraw at most this often on a terminal (each redraw is a write). */
const REDRAW_MS = 100;

/** One step at a time: `start`, any number of `advance`, `done`. */
export class Progress {
  private label = '';
  private totalBytes = 0;
  private doneBytes = 0;
  private lastDrawMs = 0;

  constructor(private readonly out: ProgressOutput) {}

  private get tty(): boolean { return this.out.isTTY === true; }

  /** Begin a step of `totalBytes` of work (0 when it has no measure: the bar jumps from 0 to 100 %). */
  start(label: string, totalBytes: number): void {
    this.label = label;
    this.totalBytes = totalBytes;
    this.doneBytes = 0;
    this.lastDrawMs = 0;
    if (this.tty) this.draw();
    else this.out.write(`${label}...\n`);
  }

  /** `bytes` more of the step are done. */
  advance(bytes: number): void {
    this.doneBytes += bytes;
    if (!this.tty) return;
    const nowMs = Date.now();
    if (nowMs - this.lastDrawMs < REDRAW_MS) return;
    this.lastDrawMs = nowMs;
    this.draw();
  }

  /** End the step; `result` says what it made (e.g. `1.2 MiB`). */
  done(result: string): void {
    if (this.tty) {
      this.draw(1);
      this.out.write(` ${result}\n`);
    } else {
      this.out.write(`${this.label}: ${result}\n`);
    }
  }

  private draw(fraction = this.totalBytes > 0 ? Math.min(1, this.doneBytes / this.totalBytes) : 0): void {
    const full = Math.round(fraction * BAR_CELLS);
    const percent = String(Math.round(fraction * 100)).padStart(3);
    this.out.write(`\r\x1b[K${this.label} [${'#'.repeat(full)}${'.'.repeat(BAR_CELLS - full)}] ${percent} %`);
  }
}
