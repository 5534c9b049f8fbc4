/**
 * The disk layout of a board: an MBR with the FAT boot partition, slots A and B and the data
 * partition, in the partition numbers the board config names (its U-Boot `dev:part` and Linux
 * devices), aligned on 1 MiB.
 */
import { createHash } from 'node:crypto';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

/** 1 MiB: partitions start and end on it (eMMC erase blocks, SD allocation units). */
export const MIB = 1024 * 1024;

/** Sizes of the partitions, in bytes, each a whole number of MiB. */
export interface PartitionSizes {
  readonly bootBytes: number;
  readonly slotBytes: number;
  readonly dataBytes: number;
}

/** One partition of the disk. */
export interface Partition {
  readonly role: 'boot' | 'A' | 'B' | 'data';
  /** MBR partition number (1-based). */
  readonly number: number;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  /** MBR type byte: 0x83 Linux; the boot partition's follows its FAT (sfdiskScript). */
  readonly type: string;
}

/** The whole disk. */
export interface DiskLayout {
  readonly partitions: readonly Partition[];
  /** The image file's size: the end of the last partition, or the next power of two (powerOfTwo). */
  readonly sizeBytes: number;
  /** MBR disk identifier (`label-id`), derived from the board name. */
  readonly diskId: string;
}

/** Parse `64M`, `1G`, `512K` or plain bytes; must be a positive whole number of MiB. */
export function parseSizeBytes(text: string, flag: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(text.trim());
  const unit = { K: 1024, M: MIB, G: 1024 * MIB }[(m?.[2] ?? '').charAt(0).toUpperCase()] ?? 1;
  const bytes = m === null ? NaN : Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % MIB !== 0) {
    throw new OtaError('USAGE', `${flag} ${JSON.stringify(text)}: give a positive whole number of MiB (e.g. 64M, 2G)`);
  }
  return bytes;
}

/** The partition number in a U-Boot `iface dev:part` name (`mmc 0:2` -> 2). */
function partNumber(ubootDevice: string): number | undefined {
  const m = /:(\d+)$/.exec(ubootDevice.trim());
  return m === null ? undefined : Number(m[1]);
}

/**
 * The board's layout: boot = 1, A = 2, B = 3, data = 4 (four primary MBR partitions). A board whose
 * config numbers its partitions otherwise is refused (the boot script and the agent would look elsewhere).
 * `powerOfTwo` pads the file (not the partitions) to the next power of two: QEMU's SD card model
 * (the raspi machines) refuses any other size, and the unpartitioned tail is a hole the .bmap skips.
 */
export function planLayout(board: BoardConfig, sizes: PartitionSizes, powerOfTwo = false): DiskLayout {
  const named = [['boot', board.bootPartition.ubootDevice, 1], ['A', board.slots.A.ubootDevice, 2], ['B', board.slots.B.ubootDevice, 3]] as const;
  for (const [role, dev, want] of named) {
    if (partNumber(dev) !== want) {
      throw new OtaError('IMAGE_BOARD_LAYOUT', `board ${board.board}: the ${role} partition is ${JSON.stringify(dev)} but image build lays out boot, A, B, data as partitions 1-4: change the board config or build the disk yourself`);
    }
  }
  const roles: Array<[Partition['role'], number, string]> = [['boot', sizes.bootBytes, '0c'], ['A', sizes.slotBytes, '83'], ['B', sizes.slotBytes, '83'], ['data', sizes.dataBytes, '83']];
  let offsetBytes = MIB;
  const partitions = roles.map(([role, sizeBytes, type], i): Partition => {
    const p = { role, number: i + 1, offsetBytes, sizeBytes, type };
    offsetBytes += sizeBytes;
    return p;
  });
  const diskId = `0x${createHash('sha256').update(`ota-agent disk ${board.board}`).digest('hex').slice(0, 8)}`;
  let sizeBytes = powerOfTwo ? MIB : offsetBytes;
  while (sizeBytes < offsetBytes) sizeBytes *= 2; // numbers, not bit operations: disks pass 2 GiB
  return { partitions, sizeBytes, diskId };
}

/** The partition of `role`. */
export function partition(layout: DiskLayout, role: Partition['role']): Partition {
  const p = layout.partitions.find((x) => x.role === role);
  if (p === undefined) throw new OtaError('INTERNAL', `no ${role} partition in the layout`);
  return p;
}

/** The sfdisk script of the layout (sectors of 512 bytes); `bootType` is the boot partition's MBR type, from its FAT. */
export function sfdiskScript(layout: DiskLayout, bootType: string): string {
  const type = (p: Partition): string => (p.role === 'boot' ? bootType : p.type);
  const lines = layout.partitions.map((p) => `start=${p.offsetBytes / 512}, size=${p.sizeBytes / 512}, type=${type(p)}${p.role === 'boot' ? ', bootable' : ''}`);
  return `label: dos\nlabel-id: ${layout.diskId}\nunit: sectors\n${lines.join('\n')}\n`;
}

/** A UUID derived from `text` (RFC 4122 version-4 layout, name-based bytes): the same board gives the same ids. */
export function derivedUuid(text: string): string {
  const h = createHash('sha256').update(text).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x40;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
