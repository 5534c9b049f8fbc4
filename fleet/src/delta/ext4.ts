/**
 * Just enough ext4 to map each file of an image to its blocks: superblock, group
 * descriptors, inodes, extent trees, directories. Read-only, from an image in
 * memory; anything it does not understand (inline data, block-mapped files) is
 * left out of the map, and the encoder treats those blocks as unknown.
 */

/** A run of a file's bytes stored contiguously in the image. */
export interface FileExtent { readonly logicalBytes: number; readonly physicalBytes: number; readonly lengthBytes: number }

/** One file (or directory) of the image. */
export interface Ext4File {
  readonly path: string;
  readonly inode: number;
  readonly directory: boolean;
  readonly sizeBytes: number;
  /** Extents in logical order, trimmed to the file size. */
  readonly extents: readonly FileExtent[];
}

/** What the encoder needs of an image: files by path and the owner of each block. */
export interface Ext4Map {
  readonly blockSizeBytes: number;
  readonly files: readonly Ext4File[];
  readonly byPath: ReadonlyMap<string, Ext4File>;
  /** Index into `files` of the file owning each block, or -1. */
  readonly blockOwner: Int32Array;
}

const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const INCOMPAT_64BIT = 0x80;

/** Map the files of an ext4 image, or undefined when `image` is not ext4. */
export function mapExt4(image: Uint8Array): Ext4Map | undefined {
  if (image.length < 2048) return undefined;
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const sb = 1024;
  if (dv.getUint16(sb + 56, true) !== 0xef53) return undefined;
  const blockSize = 1024 << dv.getUint32(sb + 24, true);
  const inodesPerGroup = dv.getUint32(sb + 40, true);
  const firstDataBlock = dv.getUint32(sb + 20, true);
  const revLevel = dv.getUint32(sb + 76, true);
  const inodeSize = revLevel === 0 ? 128 : dv.getUint16(sb + 88, true);
  const is64 = (dv.getUint32(sb + 96, true) & INCOMPAT_64BIT) !== 0;
  const descSize = is64 ? dv.getUint16(sb + 254, true) : 32;
  const gdt = (firstDataBlock + 1) * blockSize;
  const blockCount = Math.floor(image.length / blockSize);
  const fs: Fs = {
    image, dv, blockSize,
    inodeOffset(ino: number): number {
      const group = Math.floor((ino - 1) / inodesPerGroup);
      const d = gdt + group * descSize;
      const lo = dv.getUint32(d + 8, true);
      const hi = is64 && descSize >= 64 ? dv.getUint32(d + 0x28, true) : 0;
      return (hi * 2 ** 32 + lo) * blockSize + ((ino - 1) % inodesPerGroup) * inodeSize;
    },
  };
  const files: Ext4File[] = [];
  walk(fs, 2, '', files, new Set());
  const blockOwner = new Int32Array(blockCount).fill(-1);
  files.forEach((f, index) => {
    for (const e of f.extents) {
      const first = Math.floor(e.physicalBytes / blockSize);
      const last = Math.min(blockCount, Math.ceil((e.physicalBytes + e.lengthBytes) / blockSize));
      for (let b = first; b < last; b++) blockOwner[b] = index;
    }
  });
  return { blockSizeBytes: blockSize, files, byPath: new Map(files.map((f) => [f.path, f])), blockOwner };
}

interface Fs {
  readonly image: Uint8Array;
  readonly dv: DataView;
  readonly blockSize: number;
  inodeOffset(ino: number): number;
}

function walk(fs: Fs, ino: number, path: string, out: Ext4File[], seen: Set<number>): void {
  if (seen.has(ino)) return;
  seen.add(ino);
  const file = readInode(fs, ino, path === '' ? '/' : path);
  if (file === undefined) return;
  out.push(file);
  if (!file.directory) return;
  const data = fileBytes(fs.image, file);
  for (let at = 0; at + 8 <= data.length;) {
    const dv = new DataView(data.buffer, data.byteOffset + at);
    const child = dv.getUint32(0, true);
    const recLen = dv.getUint16(4, true);
    const nameLen = data[at + 6]!;
    if (recLen < 8 || at + recLen > data.length) break;
    const name = Buffer.from(data.subarray(at + 8, at + 8 + nameLen)).toString('latin1');
    if (child !== 0 && name !== '.' && name !== '..') walk(fs, child, `${path}/${name}`, out, seen);
    at += recLen;
  }
}

function readInode(fs: Fs, ino: number, path: string): Ext4File | undefined {
  const at = fs.inodeOffset(ino);
  if (at + 160 > fs.image.length) return undefined;
  const mode = fs.dv.getUint16(at, true);
  const type = mode & 0xf000;
  if (type !== 0x8000 && type !== 0x4000) return undefined;
  const flags = fs.dv.getUint32(at + 0x20, true);
  if ((flags & EXTENTS_FL) === 0 || (flags & INLINE_DATA_FL) !== 0) return undefined;
  const sizeBytes = fs.dv.getUint32(at + 4, true) + fs.dv.getUint32(at + 0x6c, true) * 2 ** 32;
  const raw: FileExtent[] = [];
  extentTree(fs, at + 0x28, raw, 0);
  raw.sort((a, b) => a.logicalBytes - b.logicalBytes);
  const extents = raw
    .filter((e) => e.logicalBytes < sizeBytes)
    .map((e) => ({ ...e, lengthBytes: Math.min(e.lengthBytes, sizeBytes - e.logicalBytes) }));
  return { path, inode: ino, directory: type === 0x4000, sizeBytes, extents };
}

function extentTree(fs: Fs, node: number, out: FileExtent[], depthGuard: number): void {
  const dv = fs.dv;
  if (depthGuard > 8 || node + 12 > fs.image.length || dv.getUint16(node, true) !== 0xf30a) return;
  const entries = dv.getUint16(node + 2, true);
  const depth = dv.getUint16(node + 6, true);
  for (let i = 0; i < entries; i++) {
    const e = node + 12 + i * 12;
    const logical = dv.getUint32(e, true);
    if (depth === 0) {
      const len = dv.getUint16(e + 4, true);
      if (len > 32768) continue; // uninitialised extent: reads as zeros, no data to map
      const start = dv.getUint16(e + 6, true) * 2 ** 32 + dv.getUint32(e + 8, true);
      out.push({ logicalBytes: logical * fs.blockSize, physicalBytes: start * fs.blockSize, lengthBytes: len * fs.blockSize });
    } else {
      const leaf = dv.getUint16(e + 8, true) * 2 ** 32 + dv.getUint32(e + 4, true);
      extentTree(fs, leaf * fs.blockSize, out, depthGuard + 1);
    }
  }
}

/** The bytes of a file (holes read as zeros). */
export function fileBytes(image: Uint8Array, file: Ext4File): Uint8Array {
  const out = new Uint8Array(file.sizeBytes);
  for (const e of file.extents) {
    if (e.physicalBytes + e.lengthBytes > image.length) continue;
    out.set(image.subarray(e.physicalBytes, e.physicalBytes + e.lengthBytes), e.logicalBytes);
  }
  return out;
}
