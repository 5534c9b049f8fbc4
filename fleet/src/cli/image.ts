/**
 * `ota-fleet image build --board BOARD --rootfs ROOTFS --out DISK.img [--version N --keys KEYS --release-out DIR]`:
 * a flashable disk image (DISK.img, DISK.bmap, and DISK.env.img for a board whose env is off the disk)
 * and, with --version, --keys and --release-out, the signed factory release of slot A's image, made by
 * the `release` command itself, so that the first update can be a delta from what was flashed.
 * Every argument is checked before the long work; progress goes to stderr, the summary to stdout.
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliContext, Register } from '../../../agent/src/cli/index.js';
import { parseUintArg, runCli } from '../../../agent/src/cli/index.js';
import { parseBoardConfig, type BoardConfig } from '../../../agent/src/boot/index.js';
import { envVarsFromText, type EnvVars } from '../../../agent/src/bootenv/index.js';
import { readFileIfExists } from '../../../agent/src/durable/index.js';
import { OtaError, errnoCode, withContext } from '../../../agent/src/errors/index.js';
import { loadCurrentRoot } from '../keys/index.js';
import { buildImage, checkOutputs, isRaspi, parseSizeBytes, rootfsSource, type AgentSource, type ImageSpec } from '../image/index.js';
import { releaseCommand } from './release.js';

/** The source tree this build runs from (build/fleet/src/cli/ -> the repository). */
const SOURCE_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** SOURCE_DATE_EPOCH when none is set: the QEMU image builder's. */
const DEFAULT_EPOCH = 1_700_000_000;

type ImageArgs = {
  board: string; rootfs: string; out: string; force: boolean; hardware: string | undefined;
  'agent-deb': string | undefined; 'uboot-env-defaults': string | undefined; 'raspi-firmware-root': string | undefined;
  'boot-size': string; 'slot-size': string; 'data-size': string; 'slot-out': string | undefined;
  version: string | undefined; keys: string | undefined; 'release-out': string | undefined;
};

async function loadBoard(ctx: CliContext, name: string): Promise<BoardConfig> {
  const isPath = name.includes('/') || name.endsWith('.json');
  const file = isPath ? resolve(ctx.cwd, name) : join(SOURCE_ROOT, 'board-configs', `${name}.json`);
  const text = await fsp.readFile(file, 'utf8').catch(async (err: unknown) => {
    if (isPath) throw new OtaError('IMAGE_BOARD_UNKNOWN', `--board ${name}: cannot read the board config (${errnoCode(err) ?? String(err)})`);
    const known = (await fsp.readdir(join(SOURCE_ROOT, 'board-configs')).catch(() => [])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
    throw new OtaError('IMAGE_BOARD_UNKNOWN', `--board ${name}: no such board: use one of ${known.join(', ')} or a board config file`);
  });
  return parseBoardConfig(text, isPath ? name : `board-configs/${name}.json`);
}

/** The .deb given, checked, or the source tree to build it from. */
async function agentSource(ctx: CliContext, a: ImageArgs): Promise<AgentSource> {
  if (a['agent-deb'] === undefined) return { kind: 'source', sourceRoot: SOURCE_ROOT };
  const deb = resolve(ctx.cwd, a['agent-deb']);
  await fsp.access(deb).catch(() => { throw new OtaError('IMAGE_AGENT_MISSING', `--agent-deb ${deb} does not exist: run npm run build:deb, or leave --agent-deb out to build it from this tree`); });
  return { kind: 'deb', deb };
}

/** `--raspi-firmware-root`, checked: a folder, and only for a Raspberry Pi board. */
async function firmwareRoot(ctx: CliContext, board: BoardConfig, given: string | undefined): Promise<string | undefined> {
  if (given === undefined) return undefined;
  if (!isRaspi(board)) throw new OtaError('USAGE', `--raspi-firmware-root: board ${board.board} does not boot through the Raspberry Pi firmware (its U-Boot is ${board.uboot.defconfig})`);
  const dir = resolve(ctx.cwd, given);
  const st = await fsp.stat(dir).catch(() => undefined);
  if (st?.isDirectory() !== true) throw new OtaError('USAGE', `--raspi-firmware-root ${dir} is not a folder: give a tree with usr/lib/raspi-firmware and usr/lib/u-boot (e.g. raspi-firmware and u-boot-rpi unpacked with dpkg -x)`);
  return dir;
}

async function envDefaults(ctx: CliContext, file: string | undefined): Promise<EnvVars | undefined> {
  if (file === undefined) return undefined;
  const path = resolve(ctx.cwd, file);
  const text = await fsp.readFile(path, 'utf8').catch((err: unknown) => { throw withContext(`--uboot-env-defaults ${path}`, err); });
  return envVarsFromText(text, path);
}

/** The factory release's arguments, checked (keys readable, no release there yet), or undefined without one. */
async function releasePlan(ctx: CliContext, a: ImageArgs): Promise<{ version: string; keys: string; out: string } | undefined> {
  const given = [a.version, a.keys, a['release-out']].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3 || a.version === undefined || a.keys === undefined || a['release-out'] === undefined) throw new OtaError('USAGE', 'the factory release needs --version, --keys and --release-out together');
  if (parseUintArg(a.version) === undefined) throw new OtaError('USAGE', `--version must be a whole number, got ${JSON.stringify(a.version)}`);
  const keys = resolve(ctx.cwd, a.keys);
  await loadCurrentRoot(keys);
  const out = resolve(ctx.cwd, a['release-out']);
  if (await readFileIfExists(join(out, 'release.json')) !== undefined) throw new OtaError('RELEASE_EXISTS', `--release-out ${out} already holds a release: use a new directory`);
  return { version: a.version, keys, out };
}

function epochOf(ctx: CliContext): number {
  const text = ctx.env['SOURCE_DATE_EPOCH'];
  const n = text === undefined ? DEFAULT_EPOCH : parseUintArg(text);
  if (n === undefined) throw new OtaError('USAGE', `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(text)}`);
  return n;
}

/** Run `release` (the same command, as a library) on slot A's image; its output goes to stderr as progress. */
async function factoryRelease(ctx: CliContext, r: { version: string; keys: string; out: string }, hardware: string, image: string): Promise<void> {
  let failure = '';
  const inner: CliContext = { ...ctx, stdout: { write: (t: string) => ctx.stderr.write(t) }, stderr: { write: (t: string) => { failure += t; } } };
  const code = await runCli('ota-fleet', ['release', '--image', image, '--version', r.version, '--hardware', hardware, '--keys', r.keys, '--out', r.out], inner, [releaseCommand]);
  if (code !== 0) throw new OtaError('IMAGE_RELEASE_FAILED', `factory release ${r.out}: ${failure.trim().replace(/^ota-fleet: /, '')}`);
}

async function build(ctx: CliContext, a: ImageArgs): Promise<void> {
  const board = await loadBoard(ctx, a.board);
  const sizes = { bootBytes: parseSizeBytes(a['boot-size'], '--boot-size'), slotBytes: parseSizeBytes(a['slot-size'], '--slot-size'), dataBytes: parseSizeBytes(a['data-size'], '--data-size') };
  const out = resolve(ctx.cwd, a.out);
  const hardware = a.hardware ?? board.board;
  const spec: ImageSpec = {
    board, hardware, sizes, out, rootfs: await rootfsSource(resolve(ctx.cwd, a.rootfs)), agent: await agentSource(ctx, a),
    envDefaults: await envDefaults(ctx, a['uboot-env-defaults']), sourceRoot: SOURCE_ROOT, epochSeconds: epochOf(ctx), signal: ctx.signal,
    raspiFirmwareRoot: await firmwareRoot(ctx, board, a['raspi-firmware-root']),
    progress: (line) => ctx.stderr.write(`${line}\n`), withSlotImage: undefined,
  };
  await checkOutputs(out, a.force);
  const release = await releasePlan(ctx, a);
  const slotOut = a['slot-out'] === undefined ? undefined : resolve(ctx.cwd, a['slot-out']);
  const result = await buildImage({
    ...spec,
    withSlotImage: async (image) => {
      if (release !== undefined) {
        ctx.stderr.write(`image: factory release ${release.version} of slot A\n`);
        await factoryRelease(ctx, release, hardware, image);
      }
      if (slotOut !== undefined) await fsp.copyFile(image, slotOut);
    },
  });
  ctx.stdout.write([
    `wrote ${result.disk} (${result.layout.sizeBytes} bytes, board ${board.board}) and ${result.bmap}`,
    ...result.layout.partitions.map((p) => `  p${p.number} ${p.role.padEnd(4)} at ${p.offsetBytes} bytes, ${p.sizeBytes} bytes`),
    `  env: ${result.env.summary}${result.envImage === undefined ? '' : ` (${result.envImage}: write it to the env store)`}`,
    ...(release === undefined ? [] : [`  factory release ${release.version} of slot A in ${release.out}`]),
    ...(slotOut === undefined ? [] : [`  slot A image in ${slotOut} (the base of the first delta: release --from)`]),
    '',
  ].join('\n'));
}

/** Registers `image build`. */
export const imageCommand: Register = (y, ctx) =>
  y.command('image', 'build the disk image a device is flashed with', (yy) => yy
    .command('build', 'a flashable disk image (boot partition, slots A and B, data partition) from a root filesystem, with a .bmap', (b) => b
      .option('board', { type: 'string', demandOption: true, describe: 'board name (board-configs/NAME.json) or a board config file' })
      .option('rootfs', { type: 'string', demandOption: true, describe: 'root filesystem: a directory, or a .tar, .tar.gz or .tar.zst' })
      .option('out', { type: 'string', demandOption: true, describe: 'the disk image to write (DISK.img; DISK.bmap beside it)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing DISK.img' })
      .option('hardware', { type: 'string', describe: 'hardware id of the release and the example config (default: the board name)' })
      .option('agent-deb', { type: 'string', describe: 'the ota-agent .deb to install (npm run build:deb; default: built from this tree)' })
      .option('raspi-firmware-root', { type: 'string', describe: 'Raspberry Pi boards: take the firmware and U-Boot from this tree (usr/lib/raspi-firmware, usr/lib/u-boot) instead of the root filesystem' })
      .option('uboot-env-defaults', { type: 'string', describe: "U-Boot's default env (u-boot-initial-env), for a board whose env is U-Boot's own store" })
      .option('boot-size', { type: 'string', default: '64M', describe: 'boot partition size' })
      .option('slot-size', { type: 'string', default: '1G', describe: 'size of each slot' })
      .option('data-size', { type: 'string', default: '256M', describe: 'data partition size' })
      .option('slot-out', { type: 'string', describe: "also write slot A's image here (the base for release --from)" })
      .option('version', { type: 'string', describe: 'factory release version of slot A (with --keys and --release-out)' })
      .option('keys', { type: 'string', describe: 'key directory for the factory release' })
      .option('release-out', { type: 'string', describe: 'release directory for the factory release' }),
    (a) => build(ctx, a))
    .demandCommand(1, 'name an image command: build'));
