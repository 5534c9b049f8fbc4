/**
 * Running `ota-fleet` and `ota-agent` commands in-process with their output
 * captured: the demo shows what they did in its own words, and their full
 * output when one fails.
 */
import type { CliContext } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

/** A CLI's in-process entry. */
export type CliMain = (argv: readonly string[], ctx: CliContext) => Promise<number>;

/** Run `name argv` in `cwd`; resolves to its stdout, throws DEMO_STEP_FAILED with its output on a non-zero exit. */
export async function runQuiet(main: CliMain, name: string, argv: readonly string[], cwd: string, signal?: AbortSignal): Promise<string> {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    stdout: { write: (t: string) => { out += t; return true; } },
    stderr: { write: (t: string) => { err += t; return true; } },
    env: process.env, cwd, now: () => new Date(),
    ...(signal === undefined ? {} : { signal }),
  };
  const code = await main(argv, ctx);
  if (code !== 0) throw new OtaError('DEMO_STEP_FAILED', `${name} ${argv.join(' ')} exited ${code}:\n${out}${err}`);
  return out;
}
