/**
 * The U-Boot env a fresh image starts with: slot A primary and committed (its tries full), slot B
 * empty and marked bad (BOOT_B_LEFT=0, not in BOOT_ORDER), as `ota-agent sim create` leaves a
 * simulated device. Where it goes depends on the board:
 * - `file` placement (the boot script's own uboot.env on the FAT): the file, state variables only;
 * - `native` placement (U-Boot's own store): a valid env replaces U-Boot's built-in default env
 *   entirely (bootcmd, load addresses), so the state is written only with the board's defaults
 *   (`--uboot-env-defaults`, U-Boot's `u-boot-initial-env` text). Without them a FAT env file is left
 *   out and an env store off the disk (NOR flash) is written erased: U-Boot then starts from its
 *   defaults and the boot script from slot A.
 */
import { BOOT_VARS, DEFAULT_TRIES, type BoardConfig } from '../../../agent/src/boot/index.js';
import { encodeCopy, type EnvVars } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

/** Where the env of a board lives, and its bytes for a fresh image. */
export interface EnvPlan {
  /** `fat`: a file on the boot partition; `beside`: an image of the env store written next to the disk. */
  readonly where: 'fat' | 'beside';
  /** File name on the FAT (`uboot.env`), for `fat`. */
  readonly fatName: string;
  /** The bytes: every copy at its offset from the first; undefined when nothing is written (native env on FAT without defaults). */
  readonly bytes: Uint8Array | undefined;
  /** What was written, for the build's summary. */
  readonly summary: string;
}

/** The state variables of a fresh image. */
export function initialState(tries = DEFAULT_TRIES): Map<string, string> {
  return new Map([[BOOT_VARS.order, 'A'], [BOOT_VARS.left.A, String(tries)], [BOOT_VARS.left.B, '0']]);
}

function fileName(device: string, mountPoint: string): string | undefined {
  const prefix = `${mountPoint.replace(/\/+$/, '')}/`;
  return device.startsWith(prefix) && !device.slice(prefix.length).includes('/') ? device.slice(prefix.length) : undefined;
}

/** Every copy of `vars` at its offset (redundant: the first copy is the newer one), or all erased (0xff). */
function region(board: BoardConfig, vars: EnvVars | undefined): Uint8Array {
  const copies = board.env.parsed.copies;
  const base = Math.min(...copies.map((c) => c.offsetBytes));
  const end = Math.max(...copies.map((c) => c.offsetBytes + c.envSizeBytes));
  const out = new Uint8Array(end - base).fill(0xff);
  copies.forEach((c, i) => {
    if (vars !== undefined) out.set(encodeCopy(vars, c.envSizeBytes, copies.length === 2, i === 0 ? 1 : 0), c.offsetBytes - base);
  });
  return out;
}

/** The env of a fresh image for `board`; `defaults` is U-Boot's default env (native placement only). */
export function planEnv(board: BoardConfig, defaults: EnvVars | undefined): EnvPlan {
  const state = initialState();
  if (board.env.placement === 'file') {
    const name = board.script['ota_env_file'] ?? 'uboot.env';
    const sizeBytes = Number(board.script['ota_env_size']);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new OtaError('IMAGE_BOARD_LAYOUT', `board ${board.board}: script.ota_env_size ${JSON.stringify(board.script['ota_env_size'])} is not a size`);
    return { where: 'fat', fatName: name, bytes: encodeCopy(state, sizeBytes, false), summary: `${name} on the boot partition: slot A primary and committed` };
  }
  const devices = new Set(board.env.parsed.copies.map((c) => c.device));
  const [device] = devices;
  if (devices.size !== 1 || device === undefined) throw new OtaError('IMAGE_BOARD_LAYOUT', `board ${board.board}: the env copies are on different devices (${[...devices].join(', ')}): image build writes one env store`);
  const vars = defaults === undefined ? undefined : new Map([...defaults, ...state]);
  const name = fileName(device, board.bootPartition.mountPoint);
  const what = vars === undefined ? 'left to U-Boot (no --uboot-env-defaults: U-Boot starts from its default env, the boot script from slot A)' : 'U-Boot defaults with slot A primary and committed';
  if (name !== undefined) return { where: 'fat', fatName: name, bytes: vars === undefined ? undefined : region(board, vars), summary: `${name} on the boot partition ${what}` };
  return { where: 'beside', fatName: '', bytes: region(board, vars), summary: `env store ${device} ${vars === undefined ? 'erased' : 'written'}: ${what}` };
}
