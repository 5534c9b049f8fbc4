/**
 * Board configs (board-configs/*.json): for one board, where U-Boot keeps its
 * env (as fw_env.config lines), the slot devices, the boot partition, how the
 * booted slot is found, and the board settings baked into its boot script as
 * a prologue of `setenv` lines. Validated here, once, with every problem
 * listed; nothing is cast.
 */
import { posix } from 'node:path';
import { OtaError } from '../errors/index.js';
import { parseEnvConfig } from '../bootenv/index.js';
import type { EnvConfig } from '../bootenv/index.js';
import { BOARD_HELPER_VARS, BOARD_SCRIPT_VARS, CMDLINE, MAX_TRIES, SLOTS } from './vars.js';
import type { Slot } from './vars.js';
import { Fields } from '../validate/index.js';

/** Where the boot script keeps its state: U-Boot's own env store, or a uboot.env file it imports itself. */
export type EnvPlacement = 'native' | 'file';

/** A partition as Linux and U-Boot name it. */
export interface BoardPartition {
  /** Linux device, e.g. `/dev/mmcblk0p2`. */
  readonly device: string;
  /** U-Boot `interface dev:part`, e.g. `mmc 0:2`. */
  readonly ubootDevice: string;
}

/** A validated board config. */
export interface BoardConfig {
  readonly comment: string;
  readonly board: string;
  readonly name: string;
  readonly arch: 'arm64' | 'arm';
  readonly uboot: { readonly defconfig: string; readonly requires: readonly string[]; readonly notes: string };
  readonly env: { readonly placement: EnvPlacement; readonly fwEnvConfig: readonly string[]; readonly parsed: EnvConfig; readonly source: string };
  readonly bootPartition: BoardPartition & { readonly filesystem: 'vfat'; readonly mountPoint: string };
  readonly slots: Readonly<Record<Slot, BoardPartition>>;
  readonly bootedSlot: { readonly from: 'kernel-cmdline'; readonly parameter: string };
  readonly script: Readonly<Record<string, string>>;
  readonly layoutDependent: readonly string[];
}

const TOP_KEYS = ['comment', 'board', 'name', 'arch', 'uboot', 'env', 'bootPartition', 'slots', 'bootedSlot', 'script', 'layoutDependent'];

/** Validate the parsed JSON of a board config; `source` names it in messages (`board-configs/rpi-4.json`). */
export function validateBoardConfig(json: unknown, source: string): BoardConfig {
  const c = new Fields(source, { code: 'BOARD_CONFIG_INVALID', what: source });
  const top = c.object(json, '', TOP_KEYS);
  const board = c.string(top['board'], 'board', /^[a-z0-9][a-z0-9-]*$/);
  const expected = posix.basename(source).replace(/\.json$/, '');
  if (board !== '' && source.endsWith('.json') && board !== expected) c.problem('board', `is ${JSON.stringify(board)} but the file is ${expected}.json: they must match`);
  const arch = c.oneOf(top['arch'], 'arch', ['arm64', 'arm'] as const);
  const uboot = c.object(top['uboot'], 'uboot', ['defconfig', 'requires', 'notes']);
  const envJson = c.object(top['env'], 'env', ['placement', 'fwEnvConfig', 'source']);
  const bootJson = c.object(top['bootPartition'], 'bootPartition', ['device', 'ubootDevice', 'filesystem', 'mountPoint']);
  const slotsJson = c.object(top['slots'], 'slots', [...SLOTS]);
  const bootedJson = c.object(top['bootedSlot'], 'bootedSlot', ['from', 'parameter']);
  const config: BoardConfig = {
    comment: c.string(top['comment'], 'comment', /\S/),
    board,
    name: c.string(top['name'], 'name', /\S/),
    arch: arch ?? 'arm64',
    uboot: {
      defconfig: c.string(uboot['defconfig'], 'uboot.defconfig', /^[a-z0-9_]+_defconfig$/),
      requires: c.stringArray(uboot['requires'], 'uboot.requires', /^CONFIG_[A-Z0-9_]+=\S+$/),
      notes: c.string(uboot['notes'], 'uboot.notes', /\S/),
    },
    env: {
      placement: c.oneOf(envJson['placement'], 'env.placement', ['native', 'file'] as const) ?? 'native',
      fwEnvConfig: c.stringArray(envJson['fwEnvConfig'], 'env.fwEnvConfig', /\S/),
      parsed: { copies: [{ device: '', offsetBytes: 0, envSizeBytes: 0, sectorSizeBytes: 0, sectorCount: 0 }] },
      source: c.string(envJson['source'], 'env.source', /CONFIG_/),
    },
    bootPartition: {
      ...partition(c, bootJson, 'bootPartition'),
      filesystem: c.oneOf(bootJson['filesystem'], 'bootPartition.filesystem', ['vfat'] as const) ?? 'vfat',
      mountPoint: c.string(bootJson['mountPoint'], 'bootPartition.mountPoint', /^\//),
    },
    slots: { A: partition(c, c.object(slotsJson['A'], 'slots.A', ['device', 'ubootDevice']), 'slots.A'), B: partition(c, c.object(slotsJson['B'], 'slots.B', ['device', 'ubootDevice']), 'slots.B') },
    bootedSlot: {
      from: c.oneOf(bootedJson['from'], 'bootedSlot.from', ['kernel-cmdline'] as const) ?? 'kernel-cmdline',
      parameter: c.string(bootedJson['parameter'], 'bootedSlot.parameter', new RegExp(`^${CMDLINE.slot.replace('.', '\\.')}$`)),
    },
    script: scriptVars(c, top['script']),
    layoutDependent: c.stringArray(top['layoutDependent'], 'layoutDependent', /\S/),
  };
  const parsed = envConfig(c, config);
  const checked = { ...config, env: { ...config.env, parsed: parsed ?? config.env.parsed } };
  crossCheck(c, checked, top);
  c.finish();
  return checked;
}

function partition(c: Fields, json: Record<string, unknown>, path: string): BoardPartition {
  return {
    device: c.string(json['device'], `${path}.device`, /^\/dev\/\S+$/),
    ubootDevice: c.string(json['ubootDevice'], `${path}.ubootDevice`, /^[a-z]+ \d+:\d+$/),
  };
}

function scriptVars(c: Fields, json: unknown): Record<string, string> {
  const known: readonly string[] = [...BOARD_SCRIPT_VARS, ...BOARD_HELPER_VARS];
  const obj = c.object(json, 'script', known);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(obj)) {
    // The prologue quotes values in '...': hush has no escape for a quote inside, and a newline, CR
    // or other control byte ends or hides a line; anything else stays inside the quotes.
    const v = c.string(value, `script.${name}`, /^[^'\x00-\x1f\x7f]*$/);
    if (v === '') c.problem(`script.${name}`, 'is empty: leave it out to use the script default');
    out[name] = v;
  }
  return out;
}

function envConfig(c: Fields, config: BoardConfig): EnvConfig | null {
  const lines = config.env.fwEnvConfig;
  if (lines.length < 1 || lines.length > 2) { c.problem('env.fwEnvConfig', 'needs one line (single env) or two (redundant env)'); return null; }
  try {
    return parseEnvConfig(lines.join('\n'), '/', `${c.source}: env.fwEnvConfig`);
  } catch (err) {
    c.problem('env.fwEnvConfig', err instanceof Error ? err.message : String(err));
    return null;
  }
}

function crossCheck(c: Fields, config: BoardConfig, top: Record<string, unknown>): void {
  const s = config.script;
  const placement = s['ota_env'] ?? 'native';
  if (placement !== config.env.placement) c.problem('script.ota_env', `is ${placement} but env.placement is ${config.env.placement}`);
  const tries = s['ota_tries'];
  if (tries !== undefined && !new RegExp(`^[1-${MAX_TRIES}]$`).test(tries)) c.problem('script.ota_tries', `must be one digit 1..${MAX_TRIES} (U-Boot's setexpr is hex, test is decimal)`);
  for (const slot of SLOTS) {
    const p = config.slots[slot];
    const [iface, devpart] = p.ubootDevice.split(' ');
    const [num, part] = (devpart ?? '').split(':');
    expectSame(c, `script.ota_part_${slot}`, s[`ota_part_${slot}`], part, `slots.${slot}.ubootDevice`);
    expectSame(c, `script.ota_root_${slot}`, s[`ota_root_${slot}`], p.device, `slots.${slot}.device`);
    expectSame(c, 'script.ota_dev_iface', s['ota_dev_iface'], iface, `slots.${slot}.ubootDevice`);
    expectSame(c, 'script.ota_dev_num', s['ota_dev_num'], num, `slots.${slot}.ubootDevice`);
  }
  if (config.slots.A.device === config.slots.B.device) c.problem('slots', 'A and B are the same device');
  if ([config.slots.A.device, config.slots.B.device].includes(config.bootPartition.device)) c.problem('bootPartition.device', 'is also a slot');
  const bootCmd = (s['ota_boot'] ?? 'booti').split(' ')[0];
  const wanted = config.arch === 'arm64' ? 'booti' : 'bootz';
  if (bootCmd !== wanted) c.problem('script.ota_boot', `starts with ${bootCmd ?? ''}, but a ${config.arch} kernel boots with ${wanted}`);
  if (config.env.placement === 'file') fileEnvCheck(c, config);
  for (const path of config.layoutDependent) {
    if (!hasPath(top, path)) c.problem('layoutDependent', `names ${JSON.stringify(path)}, which is not a field of this file`);
  }
}

function fileEnvCheck(c: Fields, config: BoardConfig): void {
  const s = config.script;
  const [iface, devpart] = config.bootPartition.ubootDevice.split(' ');
  expectSame(c, 'script.ota_env_iface', s['ota_env_iface'], iface, 'bootPartition.ubootDevice');
  expectSame(c, 'script.ota_env_devpart', s['ota_env_devpart'], devpart, 'bootPartition.ubootDevice');
  const copy = config.env.parsed.copies[0];
  const file = posix.join(config.bootPartition.mountPoint, s['ota_env_file'] ?? 'uboot.env');
  if (config.env.parsed.copies.length !== 1) c.problem('env.fwEnvConfig', 'the script saves one uboot.env: use one line');
  if (copy.device !== file) c.problem('env.fwEnvConfig', `device is ${copy.device}, but the script writes ${file} (bootPartition.mountPoint + script.ota_env_file)`);
  const size = Number.parseInt(s['ota_env_size'] ?? '0x4000', 16);
  if (copy.envSizeBytes !== size || copy.offsetBytes !== 0) {
    c.problem('env.fwEnvConfig', `must be offset 0 and size 0x${size.toString(16)} (script.ota_env_size), got offset ${copy.offsetBytes} and size 0x${copy.envSizeBytes.toString(16)}`);
  }
}

function expectSame(c: Fields, path: string, actual: string | undefined, expected: string | undefined, from: string): void {
  if (actual !== undefined && actual !== expected) c.problem(path, `is ${JSON.stringify(actual)}, but ${from} says ${JSON.stringify(expected ?? '')}`);
}

function hasPath(root: Record<string, unknown>, path: string): boolean {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    const next: unknown = Reflect.get(node, key);
    node = next;
  }
  return true;
}

/** The `setenv` lines build.sh puts before boot.cmd for this board (same text, byte for byte). */
export function boardPrologue(config: BoardConfig): string {
  const lines = Object.entries(config.script).map(([name, value]) => `setenv ${name} '${value}'\n`);
  return `# board ${config.board}: settings from board-configs/${config.board}.json\n${lines.join('')}`;
}

/** Read a board config's text (JSON) and validate it. */
export function parseBoardConfig(text: string, source: string): BoardConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new OtaError('BOARD_CONFIG_INVALID', `${source}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return validateBoardConfig(json, source);
}
