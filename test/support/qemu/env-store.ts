/**
 * The board's U-Boot env as the host sees it between boots, read and written with
 * libubootenv's fw_printenv / fw_setenv (the reference tools): either `uboot.env`
 * on the FAT boot partition inside the disk (copied out and back with mtools), or
 * the 64 MiB NOR flash bank file U-Boot saves its own env to; and decoded from the same bytes
 * with our own codec, which must agree.
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBoardConfig } from '../../../agent/src/boot/index.js';
import { openBootEnv, type EnvVars } from '../../../agent/src/bootenv/index.js';
import { repoRoot, run, type ImageLayout } from './image.js';

/** QEMU virt's second pflash bank must be exactly this size. */
export const FLASH_BANK_BYTES = 64 * 1024 * 1024;

/** The env of one board between boots. */
export interface EnvStore {
  /** Every variable, as fw_printenv prints them. */
  read(): Map<string, string>;
  /** Every variable, as our own codec (agent/src/bootenv, the agent's reader) decodes the same bytes. */
  decode(): Promise<EnvVars>;
  /** Sets variables with one fw_setenv, then checks they read back. */
  write(vars: Readonly<Record<string, string>>): void;
  /** Where the env lives, for messages. */
  readonly description: string;
}

function parseEnvLines(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return vars;
}

/** An env store over a file that fw_env.config lines `configLines` describe; `sync*` move it in and out. */
function fwStore(description: string, workDir: string, configLines: readonly string[], syncIn: () => void, syncOut: () => void): EnvStore {
  const config = join(workDir, 'fw_env.config');
  // written before every use: the first call may be any of the three
  const writeConfig = (): void => writeFileSync(config, configLines.map((l) => `${l}\n`).join(''));
  const printenv = (): Map<string, string> => {
    writeConfig();
    return parseEnvLines(run('fw_printenv', ['-c', config]));
  };
  return {
    description,
    read: () => {
      syncIn();
      return printenv();
    },
    decode: async () => {
      syncIn();
      writeConfig();
      return (await openBootEnv({ configPath: config })).read();
    },
    write: (vars) => {
      syncIn();
      const script = join(workDir, 'fw_setenv.script');
      // libubootenv 0.3.2 reads `key=value` lines (a `key value` line silently does nothing useful)
      writeFileSync(script, Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
      writeConfig();
      run('fw_setenv', ['-c', config, '-s', script]);
      const after = printenv();
      for (const [k, v] of Object.entries(vars)) {
        if (after.get(k) !== v) throw new Error(`fw_setenv on ${description}: ${k} reads back as ${String(after.get(k))}, not ${v}`);
      }
      syncOut();
    },
  };
}

/** `uboot.env` on the FAT boot partition of `diskPath` (layout placement `file`). */
export function fatEnvStore(diskPath: string, layout: ImageLayout, workDir: string): EnvStore {
  const file = join(workDir, layout.env.file);
  const fat = `${diskPath}@@${layout.partitions.boot.offsetBytes}`;
  return fwStore(`${layout.env.file} on the boot partition of ${diskPath}`, workDir,
    [`${file} 0x0 0x${layout.env.sizeBytes.toString(16)}`],
    () => run('mcopy', ['-o', '-n', '-i', fat, `::${layout.env.file}`, file]),
    () => run('mcopy', ['-o', '-n', '-i', fat, file, `::${layout.env.file}`]));
}

/** Where the second pflash bank (the env bank) starts in the guest's /dev/mtd0 (both banks are one device there). */
const GUEST_FLASH_BANK_OFFSET = 0x4000000;

/** One env copy in the NOR flash bank file, as the board's fw_env.config places it (offsets in the bank). */
export interface FlashEnvCopy { offsetBytes: number; sizeBytes: number; sectorSizeBytes: number }

/** The env copies of board `layout.board` in the flash bank file: one, or two for a redundant env. */
export function flashEnvCopies(layout: ImageLayout): FlashEnvCopy[] {
  const file = join(repoRoot, 'board-configs', `${layout.board}.json`);
  const config = parseBoardConfig(readFileSync(file, 'utf8'), file);
  return config.env.parsed.copies.map((c) => ({
    offsetBytes: c.offsetBytes - GUEST_FLASH_BANK_OFFSET, sizeBytes: c.envSizeBytes, sectorSizeBytes: c.sectorSizeBytes || c.envSizeBytes,
  }));
}

/** U-Boot's env in the NOR flash bank file `flashPath` (placement `native`): its copies where the board puts them. */
export function flashEnvStore(flashPath: string, layout: ImageLayout, workDir: string): EnvStore {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const lines = flashEnvCopies(layout).map((c) => `${flashPath} ${hex(c.offsetBytes)} ${hex(c.sizeBytes)} ${hex(c.sectorSizeBytes)}`);
  const store = fwStore(`NOR flash ${flashPath}`, workDir, lines, () => undefined, () => undefined);
  if (lines.length === 1) return store;
  return {
    ...store,
    // on a plain file both fw_setenv and our codec write the incremental flags of block devices, which
    // U-Boot's flash env does not read (it wants 1 active / 0 obsolete): write from the guest's /dev/mtd0
    write: () => {
      throw new Error(`${store.description}: a redundant flash env cannot be written from the host (wrong flag scheme); write it in the guest`);
    },
  };
}

/** A blank flash bank: U-Boot starts from its default env and its first saveenv fills it. */
export function blankFlash(path: string): string {
  writeFileSync(path, '');
  truncateSync(path, FLASH_BANK_BYTES);
  return path;
}
