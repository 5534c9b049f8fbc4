/**
 * The storage backends on real files (the real counterpart of test/support/memory-io.ts):
 * eMMC boot partition with a sysfs tree in a temp dir, MTD NOR through an mtdblock stand-in,
 * a FAT-style `uboot.env` file, a negative offset, and an fsync failure injected around Node's fs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFileIo, openBootEnv, parseEnvConfig, splitCopy, type FileIo } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { errnoError } from '../../support/memory-io.js';
import { gate, missingReason } from '../../support/skip.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { fwPrintenv, writeEnvConfig } from '../../support/uboot-env-tools.js';

const SIZE = 0x4000;
const hex = (n: number): string => `0x${n.toString(16)}`;

test('eMMC boot partition: force_ro in the sysfs tree is 0 during the write and 1 again after', async () => {
  const t = tempDir('ota-env-emmc-');
  try {
    const dev = join(t.dir, 'mmcblk0boot1');
    const roDir = join(t.dir, 'sys', 'class', 'block', 'mmcblk0boot1');
    mkdirSync(roDir, { recursive: true });
    writeFileSync(join(roDir, 'force_ro'), '1\n');
    writeFileSync(dev, new Uint8Array(2 * SIZE));
    const seen: string[] = [];
    const io: FileIo = {
      ...nodeFileIo,
      open: async (path, mode) => {
        if (mode === 'r+') seen.push(readFileSync(join(roDir, 'force_ro'), 'utf8').trim());
        return nodeFileIo.open(path, mode);
      },
    };
    const config = parseEnvConfig(`${dev} 0 ${hex(SIZE)}\n${dev} ${hex(SIZE)} ${hex(SIZE)}\n`, t.dir);
    const env = await openBootEnv({ config, sysfsRoot: join(t.dir, 'sys'), io });
    await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
    await env.update({ a: '2' });
    assert.equal(seen, ['0', '0'], 'writable while writing');
    assert.is(readFileSync(join(roDir, 'force_ro'), 'utf8'), '1', 'protected again');
    assert.is((await env.read()).get('a'), '2');
  } finally { t.cleanup(); }
});

test('MTD NOR: copy through mtdblock, obsolete mark through mtd, boolean flags on the flash image', async () => {
  const t = tempDir('ota-env-mtd-');
  try {
    const mtd = join(t.dir, 'mtd0');
    writeFileSync(mtd, new Uint8Array(2 * SIZE).fill(0xff));
    symlinkSync(mtd, join(t.dir, 'mtdblock0'));
    const typeDir = join(t.dir, 'sys', 'class', 'mtd', 'mtd0');
    mkdirSync(typeDir, { recursive: true });
    writeFileSync(join(typeDir, 'type'), 'nor\n');
    writeFileSync(join(typeDir, 'size'), `${2 * SIZE}\n`);
    const config = parseEnvConfig(`${mtd} 0 ${hex(SIZE)} ${hex(SIZE)} 1\n${mtd} -${hex(SIZE)} ${hex(SIZE)} ${hex(SIZE)} 1\n`, t.dir);
    const env = await openBootEnv({ config, sysfsRoot: join(t.dir, 'sys') });
    for (const value of ['1', '2', '3']) {
      await env.update({ a: value }, { defaultsWhenInvalid: new Map() });
      const image = readFileSync(mtd);
      const state = await env.readState();
      assert.is(state.vars.get('a'), value);
      assert.is(image[state.current * SIZE + 4], 1, 'current copy active');
      assert.is(image[(1 - state.current) * SIZE + 4], value === '1' ? 0xff : 0, 'the other copy obsolete (or never written)');
      if (value !== '1') assert.ok(splitCopy(image.subarray((1 - state.current) * SIZE, (2 - state.current) * SIZE), true).crcValid, 'the obsolete mark leaves the old copy valid');
    }
  } finally { t.cleanup(); }
});

/** A FAT-style `uboot.env` pair (two files) in `dir`, written twice by our backend; its fw_env.config and the files' inodes before. */
async function fatEnvWritten(dir: string): Promise<{ config: string; files: [string, string]; inodes: number[] }> {
  const files: [string, string] = [join(dir, 'uboot.env'), join(dir, 'uboot-redund.env')];
  for (const f of files) writeFileSync(f, new Uint8Array(SIZE));
  const inodes = files.map((f) => statSync(f).ino);
  const config = writeEnvConfig(join(dir, 'fw_env.config'), [[files[0], 0], [files[1], 0]], SIZE);
  const env = await openBootEnv({ configPath: config });
  await env.update({ bootdelay: '0', BOOT_ORDER: 'A B' }, { defaultsWhenInvalid: new Map() });
  await env.update({ BOOT_ORDER: 'B A' });
  return { config, files, inodes };
}

test('FAT-style uboot.env (redundant in two files): rewritten in place at the same size', async () => {
  const t = tempDir('ota-env-fat-');
  try {
    const { files, inodes } = await fatEnvWritten(t.dir);
    assert.equal(files.map((f) => statSync(f).ino), inodes, 'same files: no new directory entries on the FAT');
    assert.equal(files.map((f) => statSync(f).size), [SIZE, SIZE]);
  } finally { t.cleanup(); }
});

gate(missingReason(missingTools('the FAT-style env read back by fw_printenv', 'fw_printenv')))('FAT-style uboot.env (redundant in two files): fw_printenv reads what we wrote', async () => {
  const t = tempDir('ota-env-fat-tools-');
  try {
    const { config } = await fatEnvWritten(t.dir);
    assert.is(fwPrintenv(config), 'BOOT_ORDER=B A\nbootdelay=0\n');
  } finally { t.cleanup(); }
});

test('negative offset on a disk image: the env sits at the end', async () => {
  const t = tempDir('ota-env-neg-');
  try {
    const disk = join(t.dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(64 * SIZE));
    const config = join(t.dir, 'fw_env.config');
    writeFileSync(config, `${disk} -${hex(SIZE)} ${hex(SIZE)}\n`);
    const env = await openBootEnv({ configPath: config });
    await env.update({ at: 'end' }, { defaultsWhenInvalid: new Map() });
    const image = readFileSync(disk);
    assert.ok(splitCopy(image.subarray(63 * SIZE), false).crcValid);
    assert.ok(image.subarray(0, 63 * SIZE).every((b) => b === 0), 'nothing else touched');
  } finally { t.cleanup(); }
});

test('an fsync that fails on real files fails the update with its errno code', async () => {
  const t = tempDir('ota-env-fsync-');
  try {
    const image = join(t.dir, 'env.img');
    writeFileSync(image, new Uint8Array(2 * SIZE));
    let failSync = false;
    const io: FileIo = {
      ...nodeFileIo,
      open: async (path, mode) => {
        const fh = await nodeFileIo.open(path, mode);
        return { ...fh, sync: async () => { if (failSync) throw errnoError('EIO', 'EIO: i/o error, fsync'); await fh.sync(); } };
      },
    };
    const config = parseEnvConfig(`${image} 0 ${hex(SIZE)}\n${image} ${hex(SIZE)} ${hex(SIZE)}\n`, t.dir);
    const env = await openBootEnv({ config, io });
    await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
    failSync = true;
    let caught: unknown;
    try { await env.update({ a: '2' }); } catch (err) { caught = err; }
    assert.instance(caught, OtaError);
    assert.is((caught as OtaError).code, 'EIO');
    assert.match((caught as OtaError).message, 'write: EIO');
  } finally { t.cleanup(); }
});

test.run();
