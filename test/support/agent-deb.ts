import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const built = new Map<string, string>();

/**
 * The real agent package, built once per process and `sourceDateEpoch` as `npm run build:deb` does (from build/,
 * no tsc), in a temp folder removed at exit; returns the .deb's path.
 */
export function agentDeb(sourceDateEpoch: string): string {
  const done = built.get(sourceDateEpoch);
  if (done !== undefined) return done;
  const dir = mkdtempSync(join(tmpdir(), 'ota-agent-deb-'));
  chmodSync(dir, 0o755); // the build as nobody reads it
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const script = new URL('../../../scripts/build-deb.mjs', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [script, '--out', dir, '--no-tsc'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', SOURCE_DATE_EPOCH: sourceDateEpoch } });
  if (r.status !== 0) throw new Error(`build:deb: ${r.stderr}`);
  const deb = join(dir, 'ota-agent_0.1.0_all.deb');
  built.set(sourceDateEpoch, deb);
  return deb;
}
