/**
 * The disk image, assembled in one sparse file: the MBR (sfdisk), the FAT boot partition (made
 * apart, files copied with mtools, written whole), slot A written whole, slot B left a hole, the data
 * partition made in place at its offset (empty: see DATA_LABEL); then its block map (bmaptool create).
 *
 * Slot A is written block by block, zeros included, so that the .bmap maps all of it: `bmaptool
 * copy` skips unmapped blocks, and a slot left with the card's old bytes would not be the factory
 * release's image, so the first update's delta would find its base changed. The boot partition is
 * small and mapped whole too; the data filesystem is made in place, so the blocks mke2fs wrote are
 * the mapped ones.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { partition, sfdiskScript, type DiskLayout } from './layout.js';
import { makeExt4 } from './ext4.js';
import { runTool, type ToolEnv } from './tools.js';

/**
 * The label the pre-init mounts the data partition by (docs/data-partition.md). The partition is made
 * empty: its layout (overlay/<SLOT>/etc, var, ota-agent) is the pre-init's to create, at every boot where
 * it is missing, so a data partition made here, re-made in the field or wiped for a factory reset all
 * take the one path, and no second list of its folders can drift from the pre-init's.
 */
export const DATA_LABEL = 'ota-data';

/** A file for the FAT boot partition; `name` may hold one folder level (`overlays/x.dtbo`). */
export interface FatFile { readonly name: string; readonly path: string }

/** What goes on the disk. */
export interface DiskParts {
  readonly bootFiles: readonly FatFile[];
  /** The slot A image (its size is the slot's). */
  readonly slotA: string;
  /** A scratch folder (the boot partition, the data partition's empty tree). */
  readonly work: string;
  /** Seed of the FAT serial and the data partition's UUID (the board name). */
  readonly seed: string;
  readonly dataUuid: string;
}

const CHUNK = 1024 * 1024;

/** Copy `src` into `disk` at `offsetBytes`, every byte written (zeros too). */
async function writeWhole(src: string, disk: string, offsetBytes: number): Promise<void> {
  const input = await fsp.open(src, 'r');
  const output = await fsp.open(disk, 'r+');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let at = 0; ; at += CHUNK) {
      const { bytesRead } = await input.read(buf, 0, CHUNK, at);
      if (bytesRead === 0) break;
      await output.write(buf, 0, bytesRead, offsetBytes + at);
    }
  } finally {
    await input.close();
    await output.close();
  }
}

/** MBR type of a FAT by its boot sector's type string: 0x0c FAT32 LBA, 0x0e FAT16 LBA, 0x01 FAT12. */
function fatType(bootSector: Buffer): string {
  if (bootSector.subarray(0x52, 0x57).toString('latin1') === 'FAT32') return '0c';
  return bootSector.subarray(0x36, 0x3b).toString('latin1') === 'FAT12' ? '01' : '0e';
}

/**
 * The boot partition in a file of its own (mkfs.vfat picks the FAT for the partition's size; given the
 * disk at an offset it judges by the whole disk's); returns its file and MBR type. Written whole into the disk.
 */
async function makeBoot(env: ToolEnv, layout: DiskLayout, parts: DiskParts): Promise<{ file: string; type: string }> {
  const boot = partition(layout, 'boot');
  const file = join(parts.work, 'boot.fat');
  const serial = createHash('sha256').update(`ota-agent boot ${parts.seed}`).digest('hex').slice(0, 8);
  // --invariant (fixed times and the serial 1234abcd) first: a later -i sets the serial from the board
  await runTool(env, 'boot partition: mkfs.vfat', 'IMAGE_FS', 'mkfs.vfat', ['--invariant', '-i', serial, '-n', 'BOOT', '-C', file, String(boot.sizeBytes / 1024)]);
  const at = new Date(env.epochSeconds * 1000);
  const dirs = [...new Set(parts.bootFiles.map((f) => f.name.split('/').slice(0, -1).join('/')).filter((d) => d !== ''))].sort();
  for (const d of dirs) await runTool(env, `boot partition: ${d}/`, 'IMAGE_FS', 'mmd', ['-i', file, `::${d}`]);
  for (const f of parts.bootFiles) {
    await fsp.utimes(f.path, at, at); // mcopy -m keeps this time
    await runTool(env, `boot partition: ${f.name}`, 'IMAGE_FS', 'mcopy', ['-i', file, '-m', '-o', f.path, `::${f.name}`]);
  }
  const sector = Buffer.alloc(512);
  const h = await fsp.open(file, 'r');
  try { await h.read(sector, 0, 512, 0); } finally { await h.close(); }
  return { file, type: fatType(sector) };
}

async function makeData(env: ToolEnv, disk: string, layout: DiskLayout, parts: DiskParts): Promise<void> {
  const data = partition(layout, 'data');
  const tree = join(parts.work, 'data');
  await fsp.mkdir(tree, { mode: 0o755 });
  await fsp.utimes(tree, new Date(env.epochSeconds * 1000), new Date(env.epochSeconds * 1000));
  // A fakeroot session of its own: the rootfs session's records name inodes of the deleted rootfs tree,
  // which the new folders may reuse (fakeroot would then report them as those files).
  const fresh = env.fakerootState === undefined ? undefined : `${env.fakerootState}.data`;
  if (fresh !== undefined) await fsp.writeFile(fresh, '');
  await makeExt4({ ...env, fakerootState: fresh }, {
    tree, file: disk, offsetBytes: data.offsetBytes, sizeBytes: data.sizeBytes, label: DATA_LABEL, uuid: parts.dataUuid,
    features: undefined, what: 'data partition', failCode: 'IMAGE_FS',
  });
}

/** Assemble the disk into `disk` (a new file) and its block map into `bmap`. */
export async function buildDisk(env: ToolEnv, layout: DiskLayout, parts: DiskParts, disk: string, bmap: string): Promise<void> {
  await fsp.writeFile(disk, '');
  await fsp.truncate(disk, layout.sizeBytes);
  const boot = await makeBoot(env, layout, parts);
  await runTool(env, 'partition table: sfdisk', 'IMAGE_FS', 'sfdisk', ['-q', '--no-reread', '--no-tell-kernel', disk], false, sfdiskScript(layout, boot.type));
  await writeWhole(boot.file, disk, partition(layout, 'boot').offsetBytes);
  await writeWhole(parts.slotA, disk, partition(layout, 'A').offsetBytes);
  await makeData(env, disk, layout, parts);
  await runTool(env, 'block map: bmaptool create', 'IMAGE_FS', 'bmaptool', ['create', '-o', bmap, disk]);
}
