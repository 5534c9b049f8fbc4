/**
 * The command-line frame both programs share: yargs in strict mode, run
 * in-process (`main(argv, ctx)` returns the exit code), output through the
 * context so tests capture it, and one place that turns errors into messages.
 */
import yargs, { type Argv } from 'yargs';
import { OtaError, describe } from '../errors/index.js';
import { versionLine } from './version.js';
import { wrapHelp } from './help.js';

/** What a command may touch of the outside world: injected so tests run commands in-process. */
export interface CliContext {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
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

/**
 * Exit codes (docs/cli.md): 0 success, including nothing to do (a release already installed);
 * 1 the operation failed or was refused; 2 bad usage (unknown command or flag, a flag's value
 * out of range: an OtaError coded `USAGE`), nothing done; 78 the device is not provisioned (no agent
 * config, no trusted root), which no restart mends: the shipped unit does not restart on it.
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** sysexits' EX_CONFIG: ota-agent.service's RestartPreventExitStatus= (a flashed, unprovisioned device waits quietly). */
export const EXIT_NOT_PROVISIONED = 78;

/** The error codes that mean the device was never provisioned (exit EXIT_NOT_PROVISIONED). */
const NOT_PROVISIONED: readonly string[] = ['CONFIG_MISSING', 'TRUST_NOT_PROVISIONED'];

/** The code of an OtaError that is a usage error: exit 2, like yargs' own refusals. */
export const USAGE = 'USAGE';

/** Help lines are wrapped at word boundaries to this width (or the terminal's, if narrower). */
const HELP_WIDTH = 100;

/** Parse `argv` and run the chosen command; resolves to the process exit code. */
export async function runCli(name: string, argv: readonly string[], ctx: CliContext, commands: readonly Register[]): Promise<number> {
  let exitCode = 0;
  const setExit: SetExit = (code) => { exitCode = code; };
  // `--version` before any command, as rauc, mender and apt read it (`release --version N` is the release's).
  if (argv[0] === '--version') {
    ctx.stdout.write(versionLine(name));
    return 0;
  }
  let y: Argv = yargs([...argv])
    .scriptName(name)
    .strict()
    .demandCommand(1, 'name a command')
    .recommendCommands()
    .exitProcess(false)
    // yargs' ESM layout breaks words at the column edge; wrapHelp wraps at spaces instead.
    .wrap(null)
    .version(false)
    .help()
    // yargs makes an option given twice an array: a string flag would then reach the command as one
    .check((args, options: { array?: readonly string[] }) => {
      const arrays = new Set(options.array ?? []);
      const twice = Object.keys(args).find((k) => k !== '_' && !k.includes('-') && Array.isArray(args[k]) && !arrays.has(k) && !arrays.has(kebab(k)));
      if (twice !== undefined) throw new UsageError(`--${kebab(twice)} given more than once: give it once`);
      return true;
    }, true);
  for (const register of commands) y = register(y, ctx, setExit);
  try {
    // Throwing here stops yargs before the handler runs (a failed .check() must not run the command).
    y = y.fail((msg: string | null, err: Error | undefined) => {
      throw err instanceof OtaError ? err : new UsageError(msg ?? err?.message ?? 'bad usage');
    });
    let output = '';
    await y.parseAsync([...argv], {}, (_err, _args, text) => { output = text; });
    const width = ctx.stdout.isTTY === true && ctx.stdout.columns !== undefined ? Math.min(HELP_WIDTH, ctx.stdout.columns) : HELP_WIDTH;
    if (output !== '') ctx.stdout.write(wrapHelp(output.endsWith('\n') ? output : `${output}\n`, width));
    return exitCode;
  } catch (err) {
    const code = report(name, err, ctx);
    // With --json, a script reads stdout only: the failure is one object there too (docs/cli.md).
    if (jsonMode(argv)) printJson(ctx, { error: { code: err instanceof OtaError ? err.code : code === EXIT_USAGE ? USAGE : 'UNEXPECTED', message: unprefixed(name, describe(err)) }, exitCode: code });
    return code;
  }
}

/** True when `--json` is among the options (before a `--`). */
function jsonMode(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--json' || a === '--json=true');
}

/** Print `value` as the command's one JSON object on stdout (`--json`). */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Where a command's log and progress lines go: stderr under `--json` (stdout carries the one object), else stdout. */
export function humanOutput(ctx: CliContext, json: boolean | undefined): CliContext['stderr'] {
  return json === true ? ctx.stderr : ctx.stdout;
}

class UsageError extends Error {}

/** `camelCase` as the `--kebab-case` a user typed. */
function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function report(name: string, err: unknown, ctx: CliContext): number {
  if (err instanceof UsageError || (err instanceof OtaError && err.code === USAGE)) {
    const code = err instanceof OtaError ? ` [${err.code}]` : '';
    ctx.stderr.write(`${name}: ${unprefixed(name, err.message)}${code}\n(see ${name} --help)\n`);
    return EXIT_USAGE;
  }
  if (err instanceof OtaError) {
    ctx.stderr.write(`${name}: ${unprefixed(name, err.message)} [${err.code}]\n`);
    return NOT_PROVISIONED.includes(err.code) ? EXIT_NOT_PROVISIONED : EXIT_FAILURE;
  }
  ctx.stderr.write(`${name}: unexpected error: ${unprefixed(name, describe(err))}\n`);
  if (err instanceof Error && err.stack !== undefined && ctx.env['OTA_DEBUG'] !== undefined) ctx.stderr.write(`${err.stack}\n`);
  return EXIT_FAILURE;
}

/** `message` without a leading `NAME: ` or `NAME COMMAND: ` the frame adds itself (one prefix per line). */
function unprefixed(name: string, message: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message.startsWith(`${name} `) ? message.slice(name.length + 1) : message;
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
