/**
 * Progress of `ota-fleet release`, on stderr: on a terminal one bar redrawn in place per
 * step (making a delta, hashing an artifact); elsewhere (a pipe, a log, a test)
 * one plain line when a step starts, one at each tenth of its bytes, one when it ends,
 * never a redraw.
 */

/** Where progress goes: the CLI context's stderr (stdout carries the result). */
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
  /** Tenths of the step reported by a plain line so far. */
  private tenths = 0;

  constructor(private readonly out: ProgressOutput) {}

  private get tty(): boolean { return this.out.isTTY === true; }

  /** Begin a step of `totalBytes` of work (0 when it has no measure: the bar jumps from 0 to 100 %). */
  start(label: string, totalBytes: number): void {
    this.label = label;
    this.totalBytes = totalBytes;
    this.doneBytes = 0;
    this.lastDrawMs = 0;
    this.tenths = 0;
    if (this.tty) this.draw();
    else this.out.write(`${label}...\n`);
  }

  /** `bytes` more of the step are done. */
  advance(bytes: number): void {
    this.doneBytes += bytes;
    if (!this.tty) {
      const tenths = this.totalBytes > 0 ? Math.min(9, Math.floor((this.doneBytes * 10) / this.totalBytes)) : 0;
      if (tenths > this.tenths) this.out.write(`${this.label}: ${tenths * 10} %\n`);
      this.tenths = Math.max(this.tenths, tenths);
      return;
    }
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
