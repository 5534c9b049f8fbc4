/**
 * Durations on the command line: `30d`, `12h`, `90m`, `45s`, `2w`.
 */
import { OtaError } from '../../../agent/src/errors/index.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parse a duration like `30d` into milliseconds (a positive safe integer). */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^([1-9][0-9]{0,9})([smhdw])$/.exec(text);
  const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
  if (m === null || unit === undefined) {
    throw new OtaError('USAGE', `${flag}: ${JSON.stringify(text)} is not a duration like 30d, 12h, 90m, 45s or 2w`);
  }
  return Number(m[1]) * unit;
}
