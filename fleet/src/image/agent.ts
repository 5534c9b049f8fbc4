/**
 * The agent inside the root filesystem, in the layout of its Debian package: the bundle in
 * /usr/lib/ota-agent, a `ota-agent` wrapper in /usr/bin, both systemd units enabled, the boot script
 * and an example provisioning file. Either unpacked from a real `ota-agent_*.deb` (`--agent-deb`,
 * `dpkg-deb -x`, then the units enabled as its postinst would) or put together here from the source
 * tree and a device bundle (`installAgent`, until the .deb is built by `npm run build:deb`).
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import { OtaError, withContext } from '../../../agent/src/errors/index.js';
import { runTool, type ToolEnv } from './tools.js';

/** Where the agent comes from. */
export type AgentSource =
  | { readonly kind: 'deb'; readonly deb: string }
  | { readonly kind: 'tree'; readonly bundle: string; readonly sourceRoot: string };

/** The systemd units the package ships and enables. */
export const AGENT_UNITS = ['ota-agent.service', 'ota-agent-health.service'] as const;
const UNIT_DIR = '/lib/systemd/system';
const WANTS_DIR = '/etc/systemd/system/multi-user.target.wants';

const WRAPPER = '#!/bin/sh\n# ota-agent: the device agent bundle, run by Node.js 18+\nexec /usr/bin/node /usr/lib/ota-agent/ota-agent.mjs "$@"\n';

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

async function put(root: string, path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const file = await inRoot(root, path);
  await fsp.rm(file, { force: true }); // a symlink there is replaced, never followed out of the root
  await fsp.writeFile(file, data, { mode });
  await fsp.chmod(file, mode);
}

/** An example provisioning file for the board (`ota-agent provision --from`), in docs/agent-config.md's shape. */
function exampleProvision(board: BoardConfig, hardware: string): string {
  return `${JSON.stringify({
    hardware, env: '/etc/fw_env.config',
    slots: { A: { device: board.slots.A.device }, B: { device: board.slots.B.device } },
    mqtt: { url: 'mqtts://fleet.example.com:8883' }, artifacts: { urls: ['https://cdn.example.com/releases/'] },
  }, null, 2)}\n`;
}

/**
 * Put the package's files into `root` from the source tree (the shared .deb layout): the one place
 * the lead replaces by `dpkg-deb -x` of s1's package.
 */
export async function installAgent(root: string, bundle: string, sourceRoot: string, board: BoardConfig, hardware: string): Promise<void> {
  const read = (p: string): Promise<Buffer> => fsp.readFile(p).catch((err: unknown) => { throw withContext(`agent: read ${p}`, err, 'IMAGE_AGENT_MISSING'); });
  await put(root, 'usr/lib/ota-agent/ota-agent.mjs', await read(bundle), 0o644);
  await put(root, 'usr/bin/ota-agent', WRAPPER, 0o755);
  for (const unit of AGENT_UNITS) await put(root, `${UNIT_DIR}/${unit}`, await read(join(sourceRoot, 'agent/systemd', unit)), 0o644);
  const initDir = join(sourceRoot, 'agent/init');
  const init = await fsp.readdir(initDir).catch(() => [] as string[]); // the pre-init (s3) may not exist yet
  for (const name of init.sort()) {
    const st = await fsp.stat(join(initDir, name));
    if (st.isFile()) await put(root, `usr/lib/ota-agent/${name}`, await read(join(initDir, name)), st.mode & 0o111 ? 0o755 : 0o644);
  }
  await put(root, 'usr/share/ota-agent/boot.cmd', await read(join(sourceRoot, 'bootloader/boot.cmd')), 0o644);
  await put(root, 'usr/share/doc/ota-agent/examples/provision.json', exampleProvision(board, hardware), 0o644);
}

/**
 * Unpack a real package into `root` as dpkg would (owners kept, under fakeroot when not root): through
 * symlinked folders (merged /usr: the package's /lib/systemd/system lands in usr/lib), never replacing
 * them with directories as tar does by default, nor changing folders that exist (--no-overwrite-dir).
 */
async function unpackDeb(env: ToolEnv, root: string, deb: string): Promise<void> {
  const script = 'dpkg-deb --fsys-tarfile "$1" | tar -x -p --same-owner --numeric-owner --keep-directory-symlink --no-overwrite-dir -C "$2"';
  await runTool(env, `--agent-deb ${deb}`, 'IMAGE_AGENT_DEB_INVALID', 'bash', ['-o', 'pipefail', '-c', script, 'unpack', deb, root], true);
}

/** Enable the units as the package's postinst does (`systemctl enable`: the WantedBy symlinks). */
async function enableUnits(root: string): Promise<void> {
  for (const unit of AGENT_UNITS) {
    const link = await inRoot(root, `${WANTS_DIR}/${unit}`);
    await fsp.rm(link, { force: true });
    await fsp.symlink(`${UNIT_DIR}/${unit}`, link);
  }
}

/** The agent and its enabled units in `root`, plus the board's /etc/fw_env.config. */
export async function addAgent(env: ToolEnv, root: string, source: AgentSource, board: BoardConfig, hardware: string): Promise<void> {
  if (source.kind === 'deb') await unpackDeb(env, root, source.deb);
  else await installAgent(root, source.bundle, source.sourceRoot, board, hardware);
  await enableUnits(root);
  await put(root, 'etc/fw_env.config', `# ${board.board}: ${board.env.source}\n${board.env.fwEnvConfig.join('\n')}\n`, 0o644);
}
