/**
 * The command-line frame both programs share: yargs in strict mode, run
 * in-process (`main(argv, ctx)` returns the exit code), output through the
 * context so tests capture it, and one place that turns errors into messages.
 */
import yargs, { type Argv } from 'yargs';
import { OtaError, describe } from '../errors/index.js';

/** What a command may touch of the outside world: injected so tests run commands in-process. */
export interface CliContext {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The clock; tests pin it. */
  now(): Date;
  /** Aborted on SIGINT/SIGTERM by the bin file; long work stops at the next safe point. */
  readonly signal?: AbortSignal;
}

/** Sets the exit code of the running command. */
export type SetExit = (code: number) => void;

/** Adds one command (with its builder and handler) to the parser. */
export type Register = (y: Argv, ctx: CliContext, setExit: SetExit) => Argv;

/** Exit codes: 0 success, 1 the operation failed or refused, 2 bad usage. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Parse `argv` and run the chosen command; resolves to the process exit code. */
export async function runCli(name: string, argv: readonly string[], ctx: CliContext, commands: readonly Register[]): Promise<number> {
  let exitCode = 0;
  const setExit: SetExit = (code) => { exitCode = code; };
  let y: Argv = yargs([...argv])
    .scriptName(name)
    .strict()
    .demandCommand(1, `${name}: name a command (see ${name} --help)`)
    .recommendCommands()
    .exitProcess(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .version(false)
    .help();
  for (const register of commands) y = register(y, ctx, setExit);
  try {
    // Throwing here stops yargs before the handler runs (a failed .check() must not run the command).
    y = y.fail((msg: string | null, err: Error | undefined) => {
      throw err instanceof OtaError ? err : new UsageError(msg ?? err?.message ?? 'bad usage');
    });
    let output = '';
    await y.parseAsync([...argv], {}, (_err, _args, text) => { output = text; });
    if (output !== '') ctx.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
    return exitCode;
  } catch (err) {
    return report(name, err, ctx);
  }
}

class UsageError extends Error {}

function report(name: string, err: unknown, ctx: CliContext): number {
  if (err instanceof UsageError) {
    ctx.stderr.write(`${name}: ${err.message}\n(see ${name} --help)\n`);
    return EXIT_USAGE;
  }
  if (err instanceof OtaError) {
    ctx.stderr.write(`${name}: ${err.message} [${err.code}]\n`);
    return EXIT_FAILURE;
  }
  ctx.stderr.write(`${name}: unexpected error: ${describe(err)}\n`);
  if (err instanceof Error && err.stack !== undefined && ctx.env['OTA_DEBUG'] !== undefined) ctx.stderr.write(`${err.stack}\n`);
  return EXIT_FAILURE;
}

/** The context of a real process: stdio, environment, working directory, wall clock. */
export function processContext(signal?: AbortSignal): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** An AbortSignal that fires on SIGINT or SIGTERM (a second signal exits at once). */
export function signalOnTermination(): AbortSignal {
  const controller = new AbortController();
  const stop = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    controller.abort(new OtaError('INTERRUPTED', `interrupted by ${sig}`));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return controller.signal;
}
