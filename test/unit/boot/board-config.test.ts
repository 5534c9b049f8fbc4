import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { boardPrologue, fileKey, parseBoardConfig, simulateBoot, validateBoardConfig } from '../../../agent/src/boot/index.js';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { QEMU_DEFAULT_ENV, bootScript, repoPath } from '../../support/boot-device.js';

const dir = repoPath('board-configs');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const load = (f: string): BoardConfig => parseBoardConfig(readFileSync(`${dir}/${f}`, 'utf8'), `board-configs/${f}`);

test('the five boards (and the QEMU file-env variants) have a config', () => {
  for (const board of ['qemu-virt-arm64', 'qemu-virt-arm', 'rpi-3', 'rpi-4', 'beaglebone-black', 'qemu-virt-arm64-file-env', 'qemu-virt-arm-file-env']) {
    assert.ok(files.includes(`${board}.json`), board);
  }
});

test('every file in board-configs/ validates and cites its defconfig', () => {
  for (const f of files) {
    const config = load(f);
    assert.ok(config.comment.includes(config.uboot.defconfig), `${f}: comment cites ${config.uboot.defconfig}`);
    assert.ok(config.uboot.requires.includes('CONFIG_CMD_SETEXPR=y'), `${f}: the script needs setexpr`);
  }
});

test('each board script boots slot A from its devices in the simulator, and saves where fw_env.config reads', () => {
  for (const f of files) {
    const config = load(f);
    const [iface, devpart] = config.bootPartition.ubootDevice.split(' ');
    const world = {
      nativeEnv: null, defaultEnv: new Map([...QEMU_DEFAULT_ENV, ['fdt_addr', '2eff2e00'], ['fdt_addr_r', '0x88000000'], ['fdtfile', 'am335x-boneblack.dtb']]),
      bootVars: new Map([['devtype', iface ?? ''], ['devnum', '0'], ['distro_bootpart', '1']]), ulongBits: config.arch === 'arm64' ? 64 as const : 32 as const,
    };
    const run = simulateBoot(boardPrologue(config) + bootScript(), world);
    assert.ok(run.outcome.kind === 'boot', `${f}: boots`);
    if (run.outcome.kind !== 'boot') continue;
    assert.is(run.outcome.slot, 'A');
    assert.match(run.outcome.bootargs, new RegExp(`root=${config.slots.A.device} ota\\.slot=A ota\\.boot=1$`));
    assert.is(run.outcome.command.split(' ')[0], config.arch === 'arm64' ? 'booti' : 'bootz');
    if (config.env.placement === 'file') {
      const copy = config.env.parsed.copies[0];
      const name = copy.device.slice(config.bootPartition.mountPoint.length + 1);
      const saved = run.files.get(fileKey(iface ?? '', devpart ?? '', name));
      assert.ok(saved?.kind === 'env' && saved.sizeBytes === copy.envSizeBytes, `${f}: the script wrote ${name} of the size fw_env.config says`);
    } else {
      assert.is(run.nativeEnv?.get('BOOT_A_LEFT'), '2', `${f}: saveenv`);
    }
  }
});

test('a Raspberry Pi boots the slot\'s own device tree (/boot/dtbs/${fdtfile} to ${fdt_addr_r}), the firmware\'s (${fdt_addr}) only when the slot has none', () => {
  for (const f of ['rpi-3.json', 'rpi-4.json']) {
    const config = load(f);
    const dtb = 'broadcom/bcm2837-rpi-3-b.dtb';
    const world = (missing: string[]) => ({
      nativeEnv: null, defaultEnv: new Map([...QEMU_DEFAULT_ENV, ['fdt_addr', '2eff2e00'], ['fdt_addr_r', '0x02600000'], ['fdtfile', dtb]]),
      bootVars: new Map([['devtype', 'mmc'], ['devnum', '0'], ['distro_bootpart', '1']]), ulongBits: 64 as const, missingFiles: new Set(missing),
    });
    const fdtOf = (missing: string[]): string | undefined => {
      const run = simulateBoot(boardPrologue(config) + bootScript(), world(missing));
      assert.ok(run.outcome.kind === 'boot' && run.outcome.slot === 'A', `${f}: boots A`);
      return run.outcome.kind === 'boot' ? run.outcome.command.split(' ')[3] : undefined;
    };
    assert.is(fdtOf([]), '0x02600000', `${f}: slot A's tree, loaded to \${fdt_addr_r}`);
    assert.is(fdtOf([fileKey('mmc', '0:2', `/boot/dtbs/${dtb}`)]), '2eff2e00', `${f}: no tree in slot A: the firmware's`);
    assert.is(fdtOf([fileKey('mmc', '0:3', `/boot/dtbs/${dtb}`)]), '0x02600000', `${f}: slot B's tree missing changes nothing for A`);
  }
});

function problemsOf(mutate: (json: Record<string, unknown>) => void): string {
  const json: unknown = JSON.parse(readFileSync(`${dir}/qemu-virt-arm64-file-env.json`, 'utf8'));
  if (typeof json !== 'object' || json === null) throw new Error('fixture is not an object');
  const copy: Record<string, unknown> = { ...json };
  mutate(copy);
  try {
    validateBoardConfig(copy, 'board-configs/qemu-virt-arm64-file-env.json');
  } catch (err) {
    assert.instance(err, OtaError);
    if (err instanceof OtaError) assert.is(err.code, 'BOARD_CONFIG_INVALID');
    return err instanceof Error ? err.message : String(err);
  }
  assert.unreachable('should have been refused');
  return '';
}

const script = (json: Record<string, unknown>): Record<string, unknown> => {
  const s = json['script'];
  const out: Record<string, unknown> = typeof s === 'object' && s !== null ? { ...s } : {};
  json['script'] = out;
  return out;
};

test('bad configs are refused with every problem named by its field', () => {
  assert.match(problemsOf((j) => { delete j['slots']; }), /slots: is missing/);
  assert.match(problemsOf((j) => { j['extra'] = 1; }), /extra: is not a known field/);
  assert.match(problemsOf((j) => { j['arch'] = 'x86'; }), /arch: "x86": must be one of arm64, arm/);
  assert.match(problemsOf((j) => { j['board'] = 'rpi-4'; }), /board: is "rpi-4" but the file is qemu-virt-arm64-file-env\.json/);
  assert.match(problemsOf((j) => { script(j)['ota_tries'] = '10'; }), /script\.ota_tries: must be one digit 1\.\.9/);
  assert.match(problemsOf((j) => { script(j)['ota_root_A'] = '/dev/vda9'; }), /script\.ota_root_A: is "\/dev\/vda9", but slots\.A\.device says "\/dev\/vda2"/);
  assert.match(problemsOf((j) => { script(j)['ota_boot'] = 'bootz x'; }), /script\.ota_boot: starts with bootz, but a arm64 kernel boots with booti/);
  assert.match(problemsOf((j) => { script(j)['ota_bootargs'] = "it's"; }), /script\.ota_bootargs: .* must match/);
  assert.match(problemsOf((j) => { script(j)['ota_typo'] = 'x'; }), /script\.ota_typo: is not a known field/);
  assert.match(problemsOf((j) => { script(j)['ota_env_size'] = '0x8000'; }), /env\.fwEnvConfig: must be offset 0 and size 0x8000/);
  assert.match(problemsOf((j) => { j['layoutDependent'] = ['slots.C']; }), /layoutDependent: names "slots\.C"/);
  const env = (j: Record<string, unknown>, lines: unknown): void => { j['env'] = { placement: 'file', fwEnvConfig: lines, source: 'CONFIG_X' }; };
  assert.match(problemsOf((j) => env(j, ['/boot/firmware/uboot.env zz 0x4000'])), /env\.fwEnvConfig: .*offset: "zz" is not an integer/);
  assert.match(problemsOf((j) => env(j, [])), /env\.fwEnvConfig: needs one line/);
  assert.match(problemsOf((j) => env(j, ['/boot/uboot.env 0 0x4000'])), /device is \/boot\/uboot\.env, but the script writes \/boot\/firmware\/uboot\.env/);
  const many = problemsOf((j) => { j['arch'] = 1; j['name'] = ''; });
  assert.match(many, /2 problem\(s\)/, 'all problems at once');
});

test('not JSON is refused with the file name', () => {
  assert.throws(() => parseBoardConfig('{', 'board-configs/x.json'), /board-configs\/x\.json: not valid JSON/);
});

test.run();
