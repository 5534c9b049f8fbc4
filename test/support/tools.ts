/**
 * Test helpers for what the machine provides: Debian tools, root, temp dirs,
 * and running a CLI in-process with captured output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliContext } from '../../agent/src/cli/index.js';

const found = new Map<string, boolean>();

/** True when `command` is on PATH (or is an existing absolute path). */
export function hasTool(command: string): boolean {
  let ok = found.get(command);
  if (ok === undefined) {
    ok = command.startsWith('/') ? existsSync(command)
      : spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } }).status === 0;
    found.set(command, ok);
  }
  return ok;
}

/** The tools in `commands` that are missing; prints one line naming them when any are. */
export function missingTools(what: string, ...commands: string[]): string[] {
  const missing = commands.filter((c) => !hasTool(c));
  if (missing.length > 0) console.log(`# skipping ${what}: missing ${missing.join(', ')} (npm test installs them when run as root)`);
  return missing;
}

/** True when running as root. */
export const isRoot = process.getuid?.() === 0;

/** A fresh temp directory; call the returned cleanup in `after`. */
export function tempDir(prefix = 'ota-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The captured result of running a CLI in-process. */
export interface CliRun { code: number; stdout: string; stderr: string }

/** Run a `main(argv, ctx)` in-process with captured stdout/stderr. */
export async function runMain(
  main: (argv: readonly string[], ctx: CliContext) => Promise<number>,
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; now?: Date; stderrIsTTY?: boolean } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    stdout: { write: (t: string) => { stdout += t; return true; } },
    stderr: { write: (t: string) => { stderr += t; return true; }, ...(options.stderrIsTTY === undefined ? {} : { isTTY: options.stderrIsTTY }) },
    env: { ...process.env, ...options.env },
    cwd: options.cwd ?? process.cwd(),
    now: () => options.now ?? new Date(),
  };
  const code = await main(argv, ctx);
  return { code, stdout, stderr };
}
