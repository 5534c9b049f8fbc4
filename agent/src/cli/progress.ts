/**
 * Progress of a long command that writes bytes (an install's artifact): a bar redrawn in place on a
 * terminal, else one line per tenth, so a log or a script sees it move without a line per segment.
 */
import type { CliContext } from './framework.js';

/** Called with the bytes done of the total as the work advances (done may start above 0: a resumed install). */
export type ProgressSink = (doneBytes: number, totalBytes: number) => void;

/** A sink writing `label: [####------]  40 % 12.0 of 30.0 MiB` to `out`; `end()` closes a bar's line. */
export function progressLines(out: CliContext['stderr'], label: string): { readonly sink: ProgressSink; end(): void } {
  const tty = out.isTTY === true;
  let lastTenth = -1;
  let drawn = false;
  const sink: ProgressSink = (done, total) => {
    const fraction = total <= 0 ? 1 : Math.min(1, done / total);
    const tenth = Math.floor(fraction * 10);
    const text = `${label}: [${'#'.repeat(Math.round(fraction * 20)).padEnd(20, '-')}] ${String(Math.floor(fraction * 100)).padStart(3)} % ${mib(done)} of ${mib(total)} MiB`;
    if (tty) {
      out.write(`\r${text}`);
      drawn = true;
    } else if (tenth !== lastTenth) {
      out.write(`${text}\n`);
    }
    lastTenth = tenth;
  };
  return { sink, end: () => { if (drawn) out.write('\n'); drawn = false; } };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
