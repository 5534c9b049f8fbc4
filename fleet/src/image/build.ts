/**
 * `ota-fleet image build`: a flashable disk image from a root filesystem. Everything is made in a
 * work folder beside DISK.img and renamed into place at the end: a refusal or a failure writes nothing.
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import type { EnvVars } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { addAgent, type AgentSource } from './agent.js';
import { bootScript } from './boot.js';
import { buildDisk, type FatFile } from './disk.js';
import { planEnv, type EnvPlan } from './env.js';
import { makeExt4 } from './ext4.js';
import { derivedUuid, partition, planLayout, type DiskLayout, type PartitionSizes } from './layout.js';
import { isRaspi, raspiBoot, type RaspiBoot } from './raspi.js';
import { checkFits, clampTimes, unpackRootfs, type RootfsSource } from './rootfs.js';
import type { ToolEnv } from './tools.js';

/** Everything one build needs, checked. */
export interface ImageSpec {
  readonly board: BoardConfig;
  /** The hardware id the agent and the release name (default: the board). */
  readonly hardware: string;
  readonly rootfs: RootfsSource;
  readonly out: string;
  readonly sizes: PartitionSizes;
  readonly agent: AgentSource;
  /** U-Boot's default env, for boards whose env is U-Boot's own store (a Raspberry Pi's is read from its u-boot.bin when not given). */
  readonly envDefaults: EnvVars | undefined;
  /** The source tree (bootloader/boot.cmd; the .deb is built from it without --agent-deb). */
  readonly sourceRoot: string;
  /** Where a Raspberry Pi image takes its firmware and U-Boot from (default: the root filesystem). */
  readonly raspiFirmwareRoot: string | undefined;
  readonly epochSeconds: number;
  readonly signal: AbortSignal | undefined;
  /** One line per step, for stderr. */
  readonly progress: (line: string) => void;
  /** Called with slot A's image before the disk is put in place (the factory release is made from it). */
  readonly withSlotImage: ((path: string) => Promise<void>) | undefined;
}

/** What was written. */
export interface ImageResult {
  readonly disk: string;
  readonly bmap: string;
  /** The env store image written beside the disk (an env off the disk, e.g. NOR flash). */
  readonly envImage: string | undefined;
  readonly layout: DiskLayout;
  readonly env: EnvPlan;
}

/** The files written for `out`: DISK.img, DISK.bmap, DISK.env.img. */
export function outputPaths(out: string): { disk: string; bmap: string; envImage: string } {
  const base = out.replace(/\.img$/, '');
  return { disk: out, bmap: `${base}.bmap`, envImage: `${base}.env.img` };
}

/** Refuse an output folder that is not there, or to replace an existing output without --force (checked before any work). */
export async function checkOutputs(out: string, force: boolean): Promise<void> {
  const dir = await fsp.stat(dirname(out)).catch(() => undefined);
  if (dir?.isDirectory() !== true) throw new OtaError('IMAGE_OUT_INVALID', `--out ${out}: the folder ${dirname(out)} does not exist: create it first`);
  if (force) return;
  for (const path of Object.values(outputPaths(out))) {
    if (await fsp.lstat(path).then(() => true, () => false)) throw new OtaError('IMAGE_EXISTS', `${path} exists: pass --force to replace it, or choose another --out`);
  }
}

/** Slot A's image, and the Raspberry Pi boot files taken from its tree (for a Pi board). */
async function slotImage(env: ToolEnv, spec: ImageSpec, work: string, layout: DiskLayout): Promise<{ image: string; raspi: RaspiBoot | undefined }> {
  const tree = join(work, 'rootfs');
  await fsp.mkdir(tree);
  spec.progress(`image: unpacking the root filesystem ${spec.rootfs.path}`);
  await unpackRootfs(env, spec.rootfs, tree);
  await addAgent(env, tree, spec.agent, spec.board, spec.hardware, work);
  const raspi = isRaspi(spec.board) ? await raspiBoot(spec.board, tree, work, spec.raspiFirmwareRoot) : undefined;
  await clampTimes(env, tree);
  const slotBytes = partition(layout, 'A').sizeBytes;
  await checkFits(env, tree, slotBytes);
  spec.progress(`image: slot A (ext4, ${slotBytes} bytes)`);
  const image = join(work, 'slot-A.img');
  await makeExt4(env, {
    tree, file: image, offsetBytes: 0, sizeBytes: slotBytes, label: 'rootfs', uuid: derivedUuid(`ota-agent rootfs ${spec.board.board}`),
    features: '^has_journal,^metadata_csum,^uninit_bg', what: 'slot A', failCode: 'IMAGE_ROOTFS_TOO_LARGE',
  });
  await fsp.rm(tree, { recursive: true });
  return { image, raspi };
}

async function envFiles(spec: ImageSpec, work: string, plan: EnvPlan): Promise<{ fat: FatFile[]; beside: string | undefined }> {
  if (plan.bytes === undefined) return { fat: [], beside: undefined };
  const path = join(work, plan.where === 'fat' ? plan.fatName : 'env.img');
  await fsp.writeFile(path, plan.bytes);
  return plan.where === 'fat' ? { fat: [{ name: plan.fatName, path }], beside: undefined } : { fat: [], beside: path };
}

/** Build the disk image of `spec`. */
export async function buildImage(spec: ImageSpec): Promise<ImageResult> {
  const layout = planLayout(spec.board, spec.sizes, isRaspi(spec.board));
  planEnv(spec.board, spec.envDefaults); // its refusals come before the long work
  const work = await fsp.mkdtemp(join(dirname(spec.out), `.${basename(spec.out)}.build-`));
  try {
    const isRoot = process.getuid?.() === 0;
    const env: ToolEnv = { epochSeconds: spec.epochSeconds, fakerootState: isRoot ? undefined : join(work, 'fakeroot.state'), signal: spec.signal };
    if (env.fakerootState !== undefined) await fsp.writeFile(env.fakerootState, '');
    const { image: slotA, raspi } = await slotImage(env, spec, work, layout);
    const plan = planEnv(spec.board, spec.envDefaults ?? raspi?.envDefaults);
    const envOut = await envFiles(spec, work, plan);
    spec.progress(`image: disk ${layout.sizeBytes} bytes (boot, A, B, data)`);
    const tmp = { disk: join(work, 'disk.img'), bmap: join(work, 'disk.bmap') };
    await buildDisk(env, layout, {
      bootFiles: [...raspi?.files ?? [], await bootScript(env, spec.board, spec.sourceRoot, work), ...envOut.fat], slotA, work, seed: spec.board.board,
      dataUuid: derivedUuid(`ota-agent data ${spec.board.board}`),
    }, tmp.disk, tmp.bmap);
    spec.progress('image: block map done');
    if (spec.withSlotImage !== undefined) await spec.withSlotImage(slotA);
    const paths = outputPaths(spec.out);
    await fsp.rename(tmp.disk, paths.disk);
    await fsp.rename(tmp.bmap, paths.bmap);
    if (envOut.beside !== undefined) await fsp.rename(envOut.beside, paths.envImage);
    return { disk: paths.disk, bmap: paths.bmap, envImage: envOut.beside === undefined ? undefined : paths.envImage, layout, env: plan };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
