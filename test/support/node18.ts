/**
 * Debian 12's Node.js 18, the runtime devices have, unpacked privately by
 * scripts/debian-node18.sh (needs root and Debian's archive through apt).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot } from './tools.js';

/** The repository root (tests run from build/test/...). */
export const repoRoot = new URL('../../../', import.meta.url).pathname;

/** Path of a `node18` wrapper, or a reason why there is none. */
export function debianNode18(): { path: string } | { reason: string } {
  if (!isRoot) return { reason: 'Debian Node 18 needs root (a private mount namespace)' };
  const dir = join(repoRoot, '.cache', 'node18');
  const wrapper = join(dir, 'node18');
  if (!existsSync(wrapper)) {
    const r = spawnSync('bash', [join(repoRoot, 'scripts', 'debian-node18.sh'), dir], { encoding: 'utf8' });
    if (r.status !== 0) return { reason: `could not unpack Debian's nodejs 18: ${r.stderr.trim().split('\n').pop() ?? ''}` };
  }
  return { path: wrapper };
}
