/**
 * Running one command of the delta benchmark under `/usr/bin/time -v`: wall time
 * and peak RSS, with the output checked by the caller.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Wall time and peak resident memory of one run. */
export interface Run { seconds: number; peakRssBytes: number }

/** Run `argv` (through `sh -c` when `shell`), measured; throws with stderr when it fails. */
export function timed(argv: readonly string[], options: { shell?: boolean; env?: Record<string, string> } = {}): Run {
  const command = options.shell === true ? ['sh', '-c', argv.join(' ')] : [...argv];
  const r = spawnSync('/usr/bin/time', ['-v', ...command], {
    encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env },
  });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  if (wall === null || rss === null) throw new Error(`no /usr/bin/time figures for ${argv.join(' ')}`);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { seconds, peakRssBytes: Number(rss[1]) * 1024 };
}

/** Size of a file, or the sum of the files under a directory. */
export function sizeOf(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

/** True when the two files have the same bytes. */
export function sameFile(a: string, b: string): boolean {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

/** True when `tool` is on PATH. */
export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}
