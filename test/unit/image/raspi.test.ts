/**
 * The pure parts of a Raspberry Pi image: which boards boot through the Pi firmware, config.txt,
 * U-Boot's default env read out of its binary, and the card image padded to a power of two.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseBoardConfig, type BoardConfig } from '../../../agent/src/boot/index.js';
import { throwsCode } from '../../support/errors.js';
import { MIB, configTxt, defaultEnvOf, isRaspi, planLayout } from '../../../fleet/src/image/index.js';

const root = new URL('../../../../', import.meta.url);
const board = (name: string): BoardConfig => parseBoardConfig(readFileSync(new URL(`board-configs/${name}.json`, root), 'utf8'), name);
const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

test('a board is a Pi when its U-Boot is an rpi_* build; config.txt boots that U-Boot in 64-bit mode with the mini UART on', () => {
  assert.equal(['rpi-3', 'rpi-4', 'qemu-virt-arm64-file-env', 'beaglebone-black'].map((b) => isRaspi(board(b))), [true, true, false, false]);
  const lines = configTxt(board('rpi-3')).split('\n');
  for (const l of ['arm_64bit=1', 'kernel=u-boot.bin', 'enable_uart=1', 'upstream_kernel=1']) assert.ok(lines.includes(l), l);
  assert.ok(lines.filter((l) => l !== '' && !l.startsWith('#')).every((l) => /^[a-z_0-9]+=\S+$/.test(l)), 'only key=value lines and comments');
});

test('U-Boot\'s default env: the one name=value block that starts with bootcmd= and holds arch and kernel_addr_r, after other strings', () => {
  const blob = bytes('\x14\x00\x00\x14help: bootcmd=is a variable\0%s\0bootcmd=run distro_bootcmd\0arch=arm\0kernel_addr_r=0x00080000\0x=a b=c\0\0\xff\xfe');
  assert.equal([...defaultEnvOf(blob, 'u-boot.bin')], [['bootcmd', 'run distro_bootcmd'], ['arch', 'arm'], ['kernel_addr_r', '0x00080000'], ['x', 'a b=c']]);
});

test('U-Boot\'s default env: none, two, or one without kernel_addr_r is refused in one line pointing at --uboot-env-defaults', () => {
  const block = 'bootcmd=run distro_bootcmd\0arch=arm\0kernel_addr_r=0x80000\0\0';
  throwsCode(() => defaultEnvOf(bytes('no env here\0\0'), 'u.bin'), 'IMAGE_UBOOT_ENV', /^u\.bin: no default env .*--uboot-env-defaults$/);
  throwsCode(() => defaultEnvOf(bytes(`\0${block}junk\0${block}`), 'u.bin'), 'IMAGE_UBOOT_ENV', /more than one default env/);
  throwsCode(() => defaultEnvOf(bytes('\0bootcmd=boot\0arch=arm\0\0'), 'u.bin'), 'IMAGE_UBOOT_ENV', /no default env/);
  throwsCode(() => defaultEnvOf(bytes('\0bootcmd=boot\0arch=arm\0kernel_addr_r=1\0not an entry\x01\0\0'), 'u.bin'), 'IMAGE_UBOOT_ENV', /no default env/);
});

test('a card image is padded to the next power of two past 2 GiB too; the partitions keep their sizes', () => {
  const sizes = { bootBytes: 64 * MIB, slotBytes: 1024 * MIB, dataBytes: 256 * MIB };
  const padded = planLayout(board('rpi-4'), sizes, true);
  assert.is(padded.sizeBytes, 4096 * MIB);
  const plain = planLayout(board('rpi-4'), sizes);
  assert.is(plain.sizeBytes, (1 + 64 + 2048 + 256) * MIB);
  assert.equal(padded.partitions, plain.partitions);
  assert.is(planLayout(board('rpi-3'), { bootBytes: 31 * MIB, slotBytes: 96 * MIB, dataBytes: 32 * MIB }, true).sizeBytes, 256 * MIB, 'exactly a power of two stays');
});

test.run();
