/**
 * The agent inside the root filesystem: its Debian package, the one definition of where its files go.
 * The .deb is `--agent-deb FILE`, or built here from the source tree by `scripts/build-deb.mjs` (the
 * image's SOURCE_DATE_EPOCH, so the image stays reproducible); unpacked as dpkg does, then what its
 * postinst does offline (both units enabled). Besides the package, only what the image itself owes the
 * device: the board's /etc/fw_env.config and example provisioning file, the config link into the
 * data directory, and the /data mount point the pre-init needs (docs/data-partition.md).
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { runTool, type ToolEnv } from './tools.js';

/** Where the agent comes from: a package, or the source tree the package is built from. */
export type AgentSource =
  | { readonly kind: 'deb'; readonly deb: string }
  | { readonly kind: 'source'; readonly sourceRoot: string };

/** The systemd units the package ships and enables. */
export const AGENT_UNITS = ['ota-agent.service', 'ota-agent-health.service'] as const;
/** The pre-init the package ships (agent/init/ota-init): the kernel's `init=` on an image. */
export const PRE_INIT = '/usr/lib/ota-agent/ota-init';
const UNIT_DIR = '/lib/systemd/system';
const WANTS_DIR = '/etc/systemd/system/multi-user.target.wants';
/** The agent's data directory on the data partition, and the config link the units read (docs/data-partition.md). */
const CONFIG_LINK = { path: '/etc/ota-agent/agent.json', target: '/var/lib/ota-agent/agent.json' } as const;

/**
 * `path` inside `root` as the device will see it: symlinks in the root filesystem resolve against
 * `root`, never the build machine (a Debian root's `/lib -> usr/lib`, or an absolute link, stays inside).
 * Missing directories are made.
 */
export async function inRoot(root: string, path: string): Promise<string> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let dir = root;
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const name = parts[i] ?? '';
    const here = name === '..' ? (dir === root ? root : dirname(dir)) : join(dir, name);
    const st = await fsp.lstat(here).catch(() => undefined);
    if (st?.isSymbolicLink() === true && i < parts.length - 1) {
      if (++hops > 40) throw new OtaError('IMAGE_ROOTFS_INVALID', `rootfs: too many symbolic links in ${path}`);
      const target = await fsp.readlink(here);
      parts.splice(i + 1, 0, ...target.split('/').filter((p) => p !== '' && p !== '.'));
      if (target.startsWith('/')) dir = root;
      continue;
    }
    if (st === undefined && i < parts.length - 1) await fsp.mkdir(here, { mode: 0o755 });
    dir = here;
  }
  return dir;
}

async function put(root: string, path: string, data: string, mode: number): Promise<void> {
  const file = await inRoot(root, path);
  await fsp.rm(file, { force: true }); // a symlink there is replaced, never followed out of the root
  await fsp.writeFile(file, data, { mode });
  await fsp.chmod(file, mode);
}

async function link(root: string, path: string, target: string): Promise<void> {
  const at = await inRoot(root, path);
  await fsp.rm(at, { force: true });
  await fsp.symlink(target, at);
}

/** An example provisioning file for the board (`ota-agent provision --from`), in docs/agent-config.md's shape. */
function exampleProvision(board: BoardConfig, hardware: string): string {
  return `${JSON.stringify({
    hardware, env: '/etc/fw_env.config',
    slots: { A: { device: board.slots.A.device }, B: { device: board.slots.B.device } },
    bootPartition: board.bootPartition.mountPoint,
    mqtt: { url: 'mqtts://fleet.example.com:8883' }, artifacts: { urls: ['https://cdn.example.com/releases/'] },
  }, null, 2)}\n`;
}

/** `npm run build:deb` into `dir` from the source tree (already compiled: this code runs from its build), dated the image's epoch. */
async function buildDeb(env: ToolEnv, sourceRoot: string, dir: string): Promise<string> {
  await runTool(env, 'agent: build the .deb (npm run build:deb)', 'IMAGE_AGENT_DEB_INVALID', process.execPath, [join(sourceRoot, 'scripts/build-deb.mjs'), '--out', dir, '--no-tsc']);
  const debs = (await fsp.readdir(dir)).filter((f) => f.endsWith('.deb'));
  if (debs.length !== 1 || debs[0] === undefined) throw new OtaError('IMAGE_AGENT_DEB_INVALID', `agent: build:deb wrote ${debs.length} packages into ${dir}: expected one`);
  return join(dir, debs[0]);
}

/**
 * Unpack a package into `root` as dpkg would (owners kept, under fakeroot when not root): through
 * symlinked folders (merged /usr: the package's /lib/systemd/system lands in usr/lib), never replacing
 * them with directories as tar does by default, nor changing folders that exist (--no-overwrite-dir).
 */
async function unpackDeb(env: ToolEnv, root: string, deb: string): Promise<void> {
  const script = 'dpkg-deb --fsys-tarfile "$1" | tar -x -p --same-owner --numeric-owner --keep-directory-symlink --no-overwrite-dir -C "$2"';
  await runTool(env, `agent ${deb}`, 'IMAGE_AGENT_DEB_INVALID', 'bash', ['-o', 'pipefail', '-c', script, 'unpack', deb, root], true);
  const init = await fsp.stat(await inRoot(root, PRE_INIT)).catch(() => undefined);
  if (init?.isFile() !== true || (init.mode & 0o100) === 0) {
    throw new OtaError('IMAGE_AGENT_DEB_INVALID', `agent ${deb}: no executable ${PRE_INIT} (the pre-init the image boots with): give a package from npm run build:deb`);
  }
}

/** Enable the units as the package's postinst does (`systemctl enable`: the WantedBy symlinks). */
async function enableUnits(root: string): Promise<void> {
  for (const unit of AGENT_UNITS) await link(root, `${WANTS_DIR}/${unit}`, `${UNIT_DIR}/${unit}`);
}

/**
 * The agent's package installed in `root` with its units enabled; the board's /etc/fw_env.config and
 * example provisioning file; /etc/ota-agent/agent.json linked into the data directory; /data made.
 * `work` is a scratch folder (the .deb built from the source).
 */
export async function addAgent(env: ToolEnv, root: string, source: AgentSource, board: BoardConfig, hardware: string, work: string): Promise<void> {
  const deb = source.kind === 'deb' ? source.deb : await buildDeb(env, source.sourceRoot, await fsp.mkdtemp(join(work, 'deb-')));
  await unpackDeb(env, root, deb);
  await enableUnits(root);
  await put(root, 'etc/fw_env.config', `# ${board.board}: ${board.env.source}\n${board.env.fwEnvConfig.join('\n')}\n`, 0o644);
  await put(root, 'etc/ota-agent/provision.example.json', exampleProvision(board, hardware), 0o644);
  await link(root, CONFIG_LINK.path, CONFIG_LINK.target);
  await mountPoint(root, 'data');
}

/** A directory at `path` for something to be mounted on; a symlink is left for the device to resolve, a file refused. */
async function mountPoint(root: string, path: string): Promise<void> {
  const at = await inRoot(root, path);
  const st = await fsp.lstat(at).catch(() => undefined);
  if (st === undefined) await fsp.mkdir(at, { mode: 0o755 });
  else if (!st.isDirectory() && !st.isSymbolicLink()) throw new OtaError('IMAGE_ROOTFS_INVALID', `rootfs: /${path} is not a directory, but the pre-init mounts the data partition there: remove it from the root filesystem`);
}
