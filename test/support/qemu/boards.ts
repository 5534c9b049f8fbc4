/**
 * The two emulated boards every QEMU scenario runs on, and whether each can run here:
 * uboot.env on the FAT boot partition (Debian 12's QEMU 7.2) and U-Boot's own env in
 * NOR flash (QEMU 10 from bookworm-backports, NOR drivers cross-built for the guest);
 * and the boards only some scenarios run on.
 */
import { missingTools } from '../tools.js';
import { fetchQemu10 } from './image.js';
import { UBOOT_QEMU_ARM, type QemuBuild } from './machine.js';
import { qemuSkipReason } from './skip.js';

/** One board config under test, and the QEMU that runs it. */
export interface BoardCase {
  /** board-configs/<board>.json */
  board: string;
  /** Names the suite: what is special about this board. */
  title: string;
  /** Host tools this case needs beyond the suite's own. */
  tools: readonly string[];
  /** The QEMU to use: undefined for the system's, or why this case cannot run. */
  qemu: () => QemuBuild | undefined | { reason: string };
}

/** The env placements a real board uses, on the QEMU that runs each. */
export const QEMU_BOARDS: readonly BoardCase[] = [
  { board: 'qemu-virt-arm64-file-env', title: 'uboot.env on FAT, QEMU 7.2', tools: [], qemu: () => undefined },
  // the NOR flash modules for the guest are cross-built from Debian's kernel sources
  { board: 'qemu-virt-arm64', title: 'env in NOR flash, QEMU 10', tools: ['aarch64-linux-gnu-gcc-12', 'make', 'xz'], qemu: fetchQemu10 },
];

/**
 * NOR flash with two env copies (CONFIG_SYS_REDUNDAND_ENVIRONMENT): Debian ships no such U-Boot,
 * so its tests build one (buildRedundantUboot) and boot it with -bios. Not in QEMU_BOARDS: only
 * the scenarios about the second copy run on it.
 */
export const REDUNDANT_ENV_BOARD: BoardCase = {
  board: 'qemu-virt-arm64-redundant', title: 'redundant env in NOR flash, own U-Boot, QEMU 10',
  tools: ['aarch64-linux-gnu-gcc-12', 'make', 'xz', 'bison', 'flex', 'bc', 'dpkg-source'], qemu: fetchQemu10,
};

/**
 * 32-bit arm (cortex-a15; Debian's qemu_arm U-Boot, armhf kernel and Node), uboot.env on FAT, QEMU 7.2.
 * Not in QEMU_BOARDS: only scenario 1 runs on it (update-arm32.test.ts), to keep CI's QEMU time within budget.
 */
export const ARM32_BOARD: BoardCase = {
  board: 'qemu-virt-arm-file-env', title: '32-bit arm, uboot.env on FAT, QEMU 7.2', tools: ['qemu-system-arm', UBOOT_QEMU_ARM], qemu: () => undefined,
};

/** Whether `c` runs here: the QEMU to use, or why not (for test/support/skip.ts's gateIn). `tools` are the test's own extra needs. */
export function boardRuns(c: BoardCase, tools: readonly string[] = []): { skip: string | undefined; qemu: QemuBuild | undefined } {
  const skip = qemuSkipReason();
  if (skip !== undefined) return { skip, qemu: undefined };
  const missing = missingTools(c.title, ...c.tools, ...tools);
  if (missing.length > 0) return { skip: `missing ${missing.join(', ')}`, qemu: undefined };
  const q = c.qemu();
  if (q !== undefined && 'reason' in q) return { skip: q.reason, qemu: undefined };
  return { skip: undefined, qemu: q };
}
