/**
 * Progress of a long command that writes bytes (an install's artifact): one log event per tenth, through
 * the command's logger, so it reads like its other lines (text, journal, or one JSON object with the
 * bytes as fields under `--log-format json`), as rauc prints its install percentages.
 */
import type { Logger } from '../log/index.js';

/** Called with the bytes done of the total as the work advances (done may start above 0: a resumed install). */
export type ProgressSink = (doneBytes: number, totalBytes: number) => void;

/** A sink logging `LABEL: [####------]  40 % 12.0 of 30.0 MiB` as event `name` at each new tenth. */
export function progressEvents(log: Logger, name: string, label: string): ProgressSink {
  let lastTenth = -1;
  return (done, total) => {
    const fraction = total <= 0 ? 1 : Math.min(1, done / total);
    const tenth = Math.floor(fraction * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    const bar = `[${'#'.repeat(Math.round(fraction * 20)).padEnd(20, '-')}] ${String(Math.floor(fraction * 100)).padStart(3)} %`;
    log.event('info', name, `${label}: ${bar} ${mib(done)} of ${mib(total)} MiB`, { doneBytes: done, totalBytes: total });
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
