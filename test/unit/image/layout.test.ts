/**
 * The pure parts of `ota-fleet image build`: sizes, the board's partition layout and its sfdisk
 * script, the initial env per env placement, the kernel arguments of an image.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseBoardConfig, type BoardConfig } from '../../../agent/src/boot/index.js';
import { decodeEnv, splitCopy } from '../../../agent/src/bootenv/index.js';
import { throwsCode } from '../../support/errors.js';
import { MIB, PRE_INIT, derivedUuid, imageBootargs, parseSizeBytes, planEnv, planLayout } from '../../../fleet/src/image/index.js';

const root = new URL('../../../../', import.meta.url);
const boardJson = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`board-configs/${name}.json`, root), 'utf8')) as Record<string, unknown>;
const board = (json: Record<string, unknown>): BoardConfig => parseBoardConfig(JSON.stringify(json), 'test');
const sizes = { bootBytes: 16 * MIB, slotBytes: 64 * MIB, dataBytes: 32 * MIB };

test('sizes: whole MiB with K, M, G suffixes; anything else is refused', () => {
  assert.is(parseSizeBytes('64M', '--x'), 64 * MIB);
  assert.is(parseSizeBytes('2G', '--x'), 2048 * MIB);
  assert.is(parseSizeBytes('1024K', '--x'), MIB);
  assert.is(parseSizeBytes(String(3 * MIB), '--x'), 3 * MIB);
  for (const bad of ['0', '1.5M', '1000K', '-1M', 'M', '12T', '']) throwsCode(() => parseSizeBytes(bad, '--slot-size'), 'USAGE', /--slot-size .*whole number of MiB/);
});

test('layout: boot, A, B, data as partitions 1-4 from 1 MiB; a board numbering them otherwise is refused', () => {
  const json = boardJson('rpi-4');
  const layout = planLayout(board(json), sizes);
  assert.equal(layout.partitions.map((p) => [p.role, p.number, p.offsetBytes / MIB, p.sizeBytes / MIB]),
    [['boot', 1, 1, 16], ['A', 2, 17, 64], ['B', 3, 81, 64], ['data', 4, 145, 32]]);
  assert.is(layout.sizeBytes, 177 * MIB);
  assert.match(layout.diskId, /^0x[0-9a-f]{8}$/);
  const moved = { ...json, slots: { A: { device: '/dev/mmcblk0p5', ubootDevice: 'mmc 0:5' }, B: { device: '/dev/mmcblk0p6', ubootDevice: 'mmc 0:6' } },
    script: { ...(json['script'] as Record<string, string>), ota_part_A: '5', ota_part_B: '6', ota_root_A: '/dev/mmcblk0p5', ota_root_B: '/dev/mmcblk0p6' } };
  throwsCode(() => planLayout(board(moved), sizes), 'IMAGE_BOARD_LAYOUT', /the A partition is "mmc 0:5" but image build lays out boot, A, B, data as partitions 1-4/);
});

test('derived UUIDs: the same text the same id, a version-4 layout, another text another id', () => {
  const a = derivedUuid('ota-agent rootfs rpi-4');
  assert.is(a, derivedUuid('ota-agent rootfs rpi-4'));
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is.not(a, derivedUuid('ota-agent rootfs rpi-3'));
});

test('env: a file env is the state alone; a native env needs U-Boot\'s defaults, off the disk it is erased without them; redundant copies both valid, the first newer', () => {
  const file = planEnv(board(boardJson('qemu-virt-arm64-file-env')), undefined);
  assert.equal([file.where, file.fatName, file.bytes?.length], ['fat', 'uboot.env', 0x4000]);
  const rpi = planEnv(board(boardJson('rpi-4')), undefined);
  assert.equal([rpi.where, rpi.fatName, rpi.bytes], ['fat', 'uboot.env', undefined]);
  const nor = planEnv(board(boardJson('qemu-virt-arm64')), undefined);
  assert.equal([nor.where, nor.bytes?.every((b) => b === 0xff), nor.bytes?.length], ['beside', true, 0x40000]);
  const defaults = new Map([['bootcmd', 'run distro_bootcmd']]);
  const redundant = planEnv(board(boardJson('qemu-virt-arm64-redundant')), defaults);
  const copies = board(boardJson('qemu-virt-arm64-redundant')).env.parsed.copies;
  const base = Math.min(...copies.map((c) => c.offsetBytes));
  const bytes = redundant.bytes ?? new Uint8Array();
  const parts = copies.map((c) => bytes.subarray(c.offsetBytes - base, c.offsetBytes - base + c.envSizeBytes));
  const state = decodeEnv(parts, 'incremental');
  assert.is(state.current, 0, 'the first copy is the newer');
  assert.equal([state.vars.get('BOOT_ORDER'), state.vars.get('BOOT_A_LEFT'), state.vars.get('BOOT_B_LEFT'), state.vars.get('bootcmd')], ['A', '3', '0', 'run distro_bootcmd']);
  assert.ok(splitCopy(parts[1] ?? new Uint8Array(), true).crcValid, 'the second copy is valid too');
});

test('bootargs: an image boots the pre-init on a read-only root, whatever the board said about rw, ro and init=; a board without them takes boot.cmd\'s', () => {
  const bootCmd = readFileSync(new URL('bootloader/boot.cmd', root), 'utf8');
  const json = boardJson('rpi-4');
  const script = json['script'] as Record<string, string>;
  assert.is(PRE_INIT, '/usr/lib/ota-agent/ota-init');
  assert.is(imageBootargs(board(json), bootCmd), `console=tty1 console=ttyS1,115200 rootwait panic=5 ro init=${PRE_INIT}`);
  const rw = board({ ...json, script: { ...script, ota_bootargs: 'rw console=ttyS0 init=/sbin/init  ro quiet' } });
  assert.is(imageBootargs(rw, bootCmd), `console=ttyS0 quiet ro init=${PRE_INIT}`);
  const { ota_bootargs: _, ...withoutArgs } = script;
  const none = board({ ...json, script: withoutArgs, layoutDependent: (json['layoutDependent'] as string[]).filter((k) => k !== 'script.ota_bootargs') });
  assert.is(imageBootargs(none, bootCmd), `console=ttyAMA0 panic=5 rootwait ro init=${PRE_INIT}`, "boot.cmd's default, as the script would set it");
});

test.run();
