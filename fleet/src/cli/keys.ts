/**
 * `ota-fleet keygen --out KEYS` (one root, one release, one rollout key unless
 * asked for more; KEYS/root.json is the initial signed root) and
 * `ota-fleet root rotate --keys KEYS [--rotate ROLE]... [--ROLE-keys N] [--ROLE-threshold N]`
 * (the next root, signed by the old and the new root keys).
 */
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import type { Register } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readFileIfExists } from '../../../agent/src/durable/index.js';
import { ROLES, formatUtcTime, type RoleName } from '../../../agent/src/formats/index.js';
import { parseDurationMs } from '../keys/index.js';
import { generateKey } from '../keys/index.js';
import { keyPaths, loadCurrentRoot, roleKeys, savePrivateKeys, saveRoot } from '../keys/index.js';
import { initialRoot, nextRoot, type RoleSpec } from '../keys/index.js';

type Counts = { [K in `${RoleName}-keys` | `${RoleName}-threshold`]?: number | undefined };

function countOptions<T>(b: Argv<T>) {
  const keys = (role: RoleName) => ({ type: 'number', describe: `number of ${role} keys` }) as const;
  const threshold = (role: RoleName) => ({ type: 'number', describe: `signatures required for ${role}` }) as const;
  return b.option('root-keys', keys('root')).option('root-threshold', threshold('root'))
    .option('release-keys', keys('release')).option('release-threshold', threshold('release'))
    .option('rollout-keys', keys('rollout')).option('rollout-threshold', threshold('rollout'));
}

function count(v: number | undefined, fallback: number, flag: string): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw new OtaError('USAGE', `--${flag} must be a whole number 1..64, got ${String(v)}`);
  return n;
}

/** Fresh keys for `role`: `--ROLE-keys` of them (default `keys`), threshold `--ROLE-threshold` (default `threshold`). */
function freshRole(a: Counts, role: RoleName, keys: number, threshold: number): RoleSpec {
  const n = count(a[`${role}-keys`], keys, `${role}-keys`);
  return { keys: Array.from({ length: n }, generateKey), threshold: count(a[`${role}-threshold`], Math.min(threshold, n), `${role}-threshold`) };
}

/** Registers `keygen` and `root rotate`. */
export const keysCommand: Register = (y, ctx) =>
  y.command('keygen', 'make the root, release and rollout keys and the initial root.json', (b) => countOptions(b
    .option('out', { type: 'string', demandOption: true, describe: 'key directory to create' })
    .option('expires', { type: 'string', default: '365d', describe: 'root expiry (e.g. 365d)' })),
  async (a) => {
    const dir = resolve(ctx.cwd, a.out);
    if (await readFileIfExists(keyPaths(dir).root) !== undefined) {
      throw new OtaError('KEYS_EXIST', `${dir} already holds a root.json: refusing to overwrite keys (use ota-fleet root rotate)`);
    }
    const expiresMs = ctx.now().getTime() + parseDurationMs(a.expires, '--expires');
    const roles = { root: freshRole(a, 'root', 1, 1), release: freshRole(a, 'release', 1, 1), rollout: freshRole(a, 'rollout', 1, 1) };
    await savePrivateKeys(dir, ROLES.flatMap((r) => roles[r].keys));
    await saveRoot(dir, initialRoot(expiresMs, roles), 1);
    ctx.stdout.write(`wrote ${keyPaths(dir).root} (root v1: ${ROLES.map((r) => `${r} ${roles[r].threshold}-of-${roles[r].keys.length}`).join(', ')}), expires ${formatUtcTime(expiresMs)}\n`);
  })
    .command('root', 'root metadata', (b) => b.command('rotate', 'make the next root (new keys or thresholds), signed by old and new root keys', (c) => countOptions(c
      .option('keys', { type: 'string', demandOption: true, describe: 'key directory' })
      .option('rotate', { type: 'string', array: true, choices: ROLES, default: [] as string[], describe: 'roles that get fresh keys' })
      .option('expires', { type: 'string', default: '365d', describe: 'expiry of the new root' })),
    async (a) => {
      const dir = resolve(ctx.cwd, a.keys);
      const expiresMs = ctx.now().getTime() + parseDurationMs(a.expires, '--expires'); // before any key is made
      const { root } = await loadCurrentRoot(dir);
      const oldRootKeys = await roleKeys(dir, root, 'root');
      const spec = async (role: RoleName): Promise<RoleSpec> => {
        const old = root.roles[role];
        if (a.rotate.includes(role) || a[`${role}-keys`] !== undefined) return freshRole(a, role, old.keyids.length, old.threshold);
        const keys = await roleKeys(dir, root, role);
        if (keys.length !== old.keyids.length) {
          throw new OtaError('KEYS_MISSING', `${dir}: not every ${role} private key is present; give ${role} fresh keys (--rotate ${role}) instead`);
        }
        return { keys, threshold: count(a[`${role}-threshold`], old.threshold, `${role}-threshold`) };
      };
      const roles = { root: await spec('root'), release: await spec('release'), rollout: await spec('rollout') };
      await savePrivateKeys(dir, ROLES.flatMap((r) => roles[r].keys));
      await saveRoot(dir, nextRoot(root.version, oldRootKeys, expiresMs, roles), root.version + 1);
      ctx.stdout.write(`wrote ${keyPaths(dir).root} (root v${root.version + 1}, signed by root v${root.version} and its own root keys), expires ${formatUtcTime(expiresMs)}\n`);
    }).demandCommand(1, 'name a root command: rotate'), () => undefined);
