/**
 * `ota-agent env print [NAME...] [-n]` and `ota-agent env set NAME=VALUE... | --script FILE`:
 * the U-Boot env from the command line, with fw_printenv's output (`name=value` lines sorted by
 * name, `.flags` hidden, as libubootenv prints them; `-n` prints one value alone) and
 * fw_setenv's meaning (`NAME=` deletes). A missing NAME is reported like u-boot-tools' fw_printenv
 * (`## Error: "X" not defined`, exit 1), where libubootenv would print `X=` and succeed.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { CliContext, Register, SetExit } from './framework.js';
import { EXIT_FAILURE } from './framework.js';
import { OtaError, withContext } from '../errors/index.js';
import type { EnvChanges } from '../bootenv/index.js';
import { DEFAULT_ENV_CONFIG_PATH, openBootEnv } from '../bootenv/index.js';
import { envConfigFrom } from '../config/index.js';
import { sortVars } from '../bootenv/index.js';
import { envChangesFromText, envVarsFromText } from '../bootenv/index.js';
import { bytesOfText, textOfBytes } from '../bootenv/index.js';

/** Registers `env print` and `env set`. */
export const envCommand: Register = (y, ctx, setExit) =>
  y.command('env', 'read or change the U-Boot environment (like fw_printenv / fw_setenv)', (env: Argv) => env
    .command('print [names..]', 'print variables as name=value lines (all of them, or the NAMEs given)',
      (p) => withConfig(p)
        .positional('names', { type: 'string', array: true, describe: 'variables to print' })
        .option('n', { alias: 'noheader', type: 'boolean', default: false, describe: 'print the value alone (exactly one NAME)' }),
      async (argv) => printEnv(ctx, setExit, await envConfigFrom(argv.config, ctx.cwd), argv.names ?? [], argv.n))
    .command('set [assignments..]', 'set variables in one write (NAME=VALUE; NAME= deletes)',
      (s) => withConfig(s)
        .positional('assignments', { type: 'string', array: true, describe: 'NAME=VALUE pairs' })
        .option('script', { type: 'string', describe: 'a file of NAME=VALUE lines (# comments), applied in one write' })
        .option('force-default', { type: 'string', describe: 'when no env copy is valid, start from this default env (NAME=VALUE lines) instead of refusing' }),
      async (argv) => setEnv(ctx, await envConfigFrom(argv.config, ctx.cwd), argv.assignments ?? [], argv.script, argv['force-default']))
    .demandCommand(1, 'name an env command: print or set'),
  () => undefined);

function withConfig<T>(y: Argv<T>): Argv<T & { config: string }> {
  return y.option('config', { alias: 'c', type: 'string', default: DEFAULT_ENV_CONFIG_PATH, describe: 'fw_env.config describing where the env lives (or an agent.json: its env)' });
}

async function printEnv(ctx: CliContext, setExit: SetExit, configPath: string, names: readonly string[], valueOnly: boolean): Promise<void> {
  if (valueOnly && names.length !== 1) throw usage('-n needs exactly one NAME');
  const env = await openBootEnv({ configPath, cwd: ctx.cwd });
  const vars = await env.read();
  if (names.length === 0) {
    for (const [name, value] of sortVars(vars)) if (name !== '.flags') ctx.stdout.write(textOfBytes(`${name}=${value}\n`));
    return;
  }
  for (const name of names) {
    const value = vars.get(bytesOfText(name));
    if (value === undefined) {
      ctx.stderr.write(`## Error: "${name}" not defined\n`);
      setExit(EXIT_FAILURE);
    } else {
      ctx.stdout.write(valueOnly ? `${textOfBytes(value)}\n` : `${name}=${textOfBytes(value)}\n`);
    }
  }
}

async function setEnv(ctx: CliContext, configPath: string, assignments: readonly string[], script: string | undefined, forceDefault: string | undefined): Promise<void> {
  if ((assignments.length > 0) === (script !== undefined)) throw usage('give NAME=VALUE arguments or --script FILE (one of the two)');
  const changes = script === undefined ? changesFromArgs(assignments) : envChangesFromText(await readText(ctx, script, 'script'), script);
  const defaults = forceDefault === undefined ? undefined : envVarsFromText(await readText(ctx, forceDefault, 'default env'), forceDefault);
  const env = await openBootEnv({ configPath, cwd: ctx.cwd });
  await env.update(changes, defaults === undefined ? {} : { defaultsWhenInvalid: defaults });
}

function changesFromArgs(assignments: readonly string[]): EnvChanges {
  return Object.fromEntries(assignments.map((a) => {
    const eq = a.indexOf('=');
    if (eq < 0) throw usage(`${JSON.stringify(a)}: expected NAME=VALUE (NAME= deletes)`);
    const value = a.slice(eq + 1);
    return [bytesOfText(a.slice(0, eq)), value === '' ? null : bytesOfText(value)];
  }));
}

/*
 * Checked here rather than in yargs' .check(): the frame reports an error thrown by a check as an
 * unexpected error, and still runs the handler after it.
 */
function usage(message: string): OtaError {
  return new OtaError('USAGE', `env: ${message} (see ota-agent env --help)`);
}

async function readText(ctx: CliContext, file: string, what: string): Promise<string> {
  try {
    // latin1: the file's bytes, one code unit each (bootenv/names.ts), so they reach the env as given
    return await readFile(resolve(ctx.cwd, file), 'latin1');
  } catch (err) {
    throw withContext(`read ${what} ${file}`, err, 'ENV_TEXT');
  }
}
