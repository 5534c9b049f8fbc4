/**
 * The external tools the image builder drives (mke2fs, debugfs, mkfs.vfat, mtools, sfdisk, mkimage,
 * bmaptool, tar, dpkg-deb, fakeroot), run with a fixed environment so that their output depends on
 * the inputs only: UTC, the C locale, SOURCE_DATE_EPOCH and E2FSPROGS_FAKE_TIME.
 */
import { spawn } from 'node:child_process';
import { OtaError } from '../../../agent/src/errors/index.js';

/** The Debian package of each tool, for the "install it" hint. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  'mke2fs': 'e2fsprogs', 'debugfs': 'e2fsprogs', 'mkfs.vfat': 'dosfstools', 'mcopy': 'mtools', 'mmd': 'mtools', 'sfdisk': 'fdisk',
  'mkimage': 'u-boot-tools', 'bmaptool': 'bmap-tools', 'tar': 'tar', 'dpkg-deb': 'dpkg', 'fakeroot': 'fakeroot',
  'find': 'findutils', 'touch': 'coreutils', 'cp': 'coreutils', 'du': 'coreutils', 'zstd': 'zstd',
};

/** How every tool of one build runs. */
export interface ToolEnv {
  /** Seconds since the epoch written into every timestamp (SOURCE_DATE_EPOCH). */
  readonly epochSeconds: number;
  /** A fakeroot state file when not root: owners and device nodes live there, not on the disk. */
  readonly fakerootState: string | undefined;
  /** Stops the running tool. */
  readonly signal: AbortSignal | undefined;
}

/** The result of a tool that succeeded. */
export interface ToolOutput { readonly stdout: string; readonly stderr: string }

function environment(env: ToolEnv): NodeJS.ProcessEnv {
  const path = `${process.env['PATH'] ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;
  const epoch = String(env.epochSeconds);
  return { PATH: path, LC_ALL: 'C', TZ: 'UTC', SOURCE_DATE_EPOCH: epoch, E2FSPROGS_FAKE_TIME: epoch, MTOOLS_SKIP_CHECK: '1' };
}

/**
 * Run `command args`; `what` names the step in the error (`slot A: mke2fs`). A non-zero exit is
 * `code` with the tool's last stderr line; a missing tool is IMAGE_TOOL_MISSING with its package.
 * `asRoot` runs it in the build's fakeroot session (when not root); `input` is its stdin.
 */
export function runTool(env: ToolEnv, what: string, code: string, command: string, args: readonly string[], asRoot = false, input?: string): Promise<ToolOutput> {
  const [cmd, argv] = asRoot && env.fakerootState !== undefined
    ? ['fakeroot', ['-i', env.fakerootState, '-s', env.fakerootState, '--', command, ...args]]
    : [command, [...args]];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, argv, { env: environment(env), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(env.signal === undefined ? {} : { signal: env.signal }) });
    if (input !== undefined) child.stdin?.end(input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new OtaError('IMAGE_TOOL_MISSING', `${what}: ${cmd} not found: install the ${PACKAGE_OF[cmd] ?? cmd} package`));
      else reject(new OtaError(e.code === 'ABORT_ERR' ? 'ABORTED' : code, `${what}: ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on('close', (status) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (status === 0) { resolvePromise({ stdout: Buffer.concat(out).toString('utf8'), stderr }); return; }
      const last = stderr.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? `exit status ${String(status)}`;
      reject(new OtaError(code, `${what}: ${command} failed: ${last.trim()}`));
    });
  });
}
