/**
 * What the shipped systemd units must leave writable on a board, and the
 * drop-in that adds it. Both units (`ota-agent.service`, which arms, and
 * `ota-agent-health.service`, which commits or reverts) run under
 * `ProtectSystem=strict`: the whole tree is read-only except the API file
 * systems (/dev, /proc, /sys) and the `ReadWritePaths=` they list. The shipped
 * units list the default data directory and `-/boot/firmware` (where every
 * shipped board with a file env keeps `uboot.env`); a board or data directory
 * elsewhere needs the drop-in `sandboxDropIn` writes, installed as
 * `/etc/systemd/system/<unit>.d/50-board.conf` for both units.
 */
import { posix } from 'node:path';
import type { BoardConfig } from './board-config.js';
import { SLOTS } from './vars.js';

/** The units the drop-in is for (the agent and its post-boot step both write the env and the data directory). */
export const OTA_UNITS = ['ota-agent.service', 'ota-agent-health.service'] as const;

/** The data directory the shipped units and the example configs use. */
export const DEFAULT_DATA_DIR = '/var/lib/ota-agent';

/** One path the agent writes on a board, and why. */
export interface WrittenPath {
  readonly path: string;
  readonly why: string;
}

/**
 * Every path the agent writes on `board` with its data directory at `dataDir`:
 * each env copy (a device node, or a file written in place, whose directory is
 * the boot partition's mount), each slot device, the data directory, and for an
 * eMMC boot partition its sysfs `force_ro` switch, lifted around each env write.
 */
export function writtenPaths(board: BoardConfig, dataDir: string): WrittenPath[] {
  const paths: WrittenPath[] = [{ path: dataDir, why: 'data directory (journal, trust state, slot records, download spool)' }];
  for (const copy of board.env.parsed.copies) {
    paths.push({ path: copy.device, why: 'boot env' });
    const emmcBoot = /^\/dev\/(mmcblk\d+boot\d+)$/.exec(copy.device)?.[1];
    if (emmcBoot !== undefined) paths.push({ path: `/sys/class/block/${emmcBoot}/force_ro`, why: 'eMMC boot partition write switch' });
  }
  for (const slot of SLOTS) paths.push({ path: board.slots[slot].device, why: `slot ${slot}` });
  return paths;
}

/**
 * The `ReadWritePaths=` a board needs beyond the API file systems: the data
 * directory and the directory of each env file (not under /dev). A missing path
 * fails the unit at start (no `-` prefix): better than an agent that cannot arm.
 */
export function sandboxWritablePaths(board: BoardConfig, dataDir: string): string[] {
  const dirs = board.env.parsed.copies.map((c) => c.device).filter((d) => !d.startsWith('/dev/')).map((d) => posix.dirname(d));
  return [...new Set([dataDir, ...dirs])];
}

/** The text of the drop-in for both units on `board` (see the module comment for where it goes). */
export function sandboxDropIn(board: BoardConfig, dataDir: string): string {
  return [
    `# ${board.board}: the paths the agent writes besides /dev (env ${board.env.fwEnvConfig.join('; ')}; slots ${board.slots.A.device}, ${board.slots.B.device}).`,
    '[Service]',
    ...sandboxWritablePaths(board, dataDir).map((p) => `ReadWritePaths=${p}`),
    '',
  ].join('\n');
}
