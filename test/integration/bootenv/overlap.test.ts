/**
 * Two env copies that share a byte are refused when the env is opened, before anything is read or
 * written, whatever names the config gives the storage: one file under a hard link or a symlink, a
 * positive and a negative offset on one file, one block device under two nodes, a partition and its
 * disk, one MTD device.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../agent/src/cli/index.js';
import { encodeCopy, nodeFileIo, openBootEnv, parseEnvConfig, type FileIo, type OpenBootEnvOptions } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { runMain, tempDir } from '../../support/tools.js';

const SIZE = 0x2000;

async function openError(options: OpenBootEnvOptions): Promise<OtaError> {
  try {
    await openBootEnv(options);
  } catch (err) {
    if (err instanceof OtaError) return err;
    throw err;
  }
  throw new Error('openBootEnv accepted overlapping copies');
}

/** A file holding a valid redundant copy at 0, so a write would be possible if the copies were accepted. */
function image(dir: string, sizeBytes: number): { path: string; bytes: Buffer } {
  const path = join(dir, 'env.img');
  const bytes = Buffer.alloc(sizeBytes);
  bytes.set(encodeCopy(new Map([['BOOT_ORDER', 'A B']]), SIZE, true, 1), 0);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** Node's file operations, except that the paths of `rdevOf` stat as block device nodes with that dev_t. */
function blockDevices(rdevOf: Readonly<Record<string, number>>): FileIo {
  return {
    ...nodeFileIo,
    stat: async (p) => {
      const rdev = rdevOf[p];
      if (rdev === undefined) return nodeFileIo.stat(p);
      return { size: 1 << 24, dev: 5, ino: rdev, rdev, isFile: () => false, isBlockDevice: () => true, isCharacterDevice: () => false };
    },
  };
}

test('one file under a hard link, a symlink, or a positive and a negative offset: ENV_CONFIG, the file untouched', async () => {
  const t = tempDir('ota-env-overlap-');
  try {
    const { path, bytes } = image(t.dir, 3 * SIZE);
    linkSync(path, join(t.dir, 'hard.img'));
    symlinkSync(path, join(t.dir, 'soft.img'));
    const configs = [
      `${path} 0 0x2000\n${join(t.dir, 'hard.img')} 0x1000 0x2000\n`,
      `${path} 0x2000 0x2000\n${join(t.dir, 'soft.img')} 0x2000 0x2000\n`,
      `${path} 0x4000 0x2000\n${path} -0x2000 0x2000\n`,
      `${path} 0 0x2000\n${path} -0x5000 0x2000\n`,
    ];
    for (const text of configs) {
      const err = await openError({ config: parseEnvConfig(text, t.dir), configPath: 'fw_env.config' });
      assert.is(err.code, 'ENV_CONFIG', text);
      assert.match(err.message, 'the two env copies overlap', text);
    }
    const apart = await openBootEnv({ config: parseEnvConfig(`${path} 0 0x2000\n${join(t.dir, 'hard.img')} -0x2000 0x2000\n`, t.dir) });
    assert.is((await apart.read()).get('BOOT_ORDER'), 'A B', 'apart copies on a hard link are fine');
    assert.ok(readFileSync(path).equals(bytes), 'nothing written');
  } finally { t.cleanup(); }
});

test('one block device under two nodes (same rdev) is one storage; two devices are not', async () => {
  const t = tempDir('ota-env-overlap-');
  try {
    const { path } = image(t.dir, 2 * SIZE);
    const other = join(t.dir, 'other.img');
    writeFileSync(other, new Uint8Array(2 * SIZE));
    const rdevOf: Record<string, number> = { [path]: 0xb300, [join(t.dir, 'mmcblk0-again')]: 0xb300, [other]: 0xb310 };
    const io = blockDevices(rdevOf);
    const sysfsRoot = join(t.dir, 'sys');
    const err = await openError({ config: parseEnvConfig(`${path} 0 0x2000\n${join(t.dir, 'mmcblk0-again')} 0 0x2000\n`, t.dir), io, sysfsRoot });
    assert.is(err.code, 'ENV_CONFIG');
    await openBootEnv({ config: parseEnvConfig(`${path} 0 0x2000\n${other} 0 0x2000\n`, t.dir), io, sysfsRoot });
  } finally { t.cleanup(); }
});

test('a partition and its disk are one storage: the partition\'s start (sysfs) counts', async () => {
  const t = tempDir('ota-env-overlap-');
  try {
    const disk = join(t.dir, 'mmcblk0');
    const part = join(t.dir, 'mmcblk0p1');
    writeFileSync(disk, new Uint8Array(0));
    writeFileSync(part, new Uint8Array(0));
    // sysfs as the kernel lays it out: /sys/dev/block/MAJ:MIN links into /sys/devices, a partition inside its disk
    const sys = join(t.dir, 'sys');
    const diskDir = join(sys, 'devices', 'mmcblk0');
    mkdirSync(join(diskDir, 'mmcblk0p1'), { recursive: true });
    writeFileSync(join(diskDir, 'dev'), '179:0\n');
    writeFileSync(join(diskDir, 'mmcblk0p1', 'dev'), '179:1\n');
    writeFileSync(join(diskDir, 'mmcblk0p1', 'partition'), '1\n');
    writeFileSync(join(diskDir, 'mmcblk0p1', 'start'), '2048\n');
    mkdirSync(join(sys, 'dev', 'block'), { recursive: true });
    symlinkSync('../../devices/mmcblk0', join(sys, 'dev', 'block', '179:0'));
    symlinkSync('../../devices/mmcblk0/mmcblk0p1', join(sys, 'dev', 'block', '179:1'));
    const rdevOf: Record<string, number> = { [disk]: (179 << 8) | 0, [part]: (179 << 8) | 1 };
    const io = blockDevices(rdevOf);
    const err = await openError({ config: parseEnvConfig(`${disk} 0x101000 0x2000\n${part} 0 0x2000\n`, t.dir), io, sysfsRoot: sys });
    assert.is(err.code, 'ENV_CONFIG');
    assert.match(err.message, 'block 179:0');
    await openBootEnv({ config: parseEnvConfig(`${disk} 0xfe000 0x2000\n${part} 0 0x2000\n`, t.dir), io, sysfsRoot: sys });
    await openBootEnv({ config: parseEnvConfig(`${disk} 0x100000 0x2000\n${part} 0x2000 0x2000\n`, t.dir), io, sysfsRoot: sys });
  } finally { t.cleanup(); }
});

test('MTD: copies at 0 and at -size of a one-copy partition overlap (the size from sysfs)', async () => {
  const t = tempDir('ota-env-overlap-');
  try {
    const mtd = join(t.dir, 'mtd0');
    writeFileSync(mtd, new Uint8Array(SIZE).fill(0xff));
    const sys = join(t.dir, 'sys', 'class', 'mtd', 'mtd0');
    mkdirSync(sys, { recursive: true });
    writeFileSync(join(sys, 'type'), 'nor\n');
    writeFileSync(join(sys, 'size'), `${SIZE}\n`);
    writeFileSync(join(sys, 'erasesize'), `${SIZE}\n`);
    const err = await openError({ config: parseEnvConfig(`${mtd} 0 0x2000 0x2000\n${mtd} -0x2000 0x2000 0x2000\n`, t.dir), sysfsRoot: join(t.dir, 'sys') });
    assert.is(err.code, 'ENV_CONFIG');
    assert.match(err.message, 'overlap');
  } finally { t.cleanup(); }
});

test('env set on overlapping copies (same offset): refused in one line, nothing written', async () => {
  const t = tempDir('ota-env-overlap-');
  try {
    const { path, bytes } = image(t.dir, 2 * SIZE);
    const config = join(t.dir, 'fw_env.config');
    writeFileSync(config, `${path} 0x0 0x2000\n${path} 0 0x2000\n`);
    const r = await runMain(main, ['env', 'set', '-c', config, 'BOOT_ORDER=B A']);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'overlap');
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.ok(readFileSync(path).equals(bytes), 'nothing written');
  } finally { t.cleanup(); }
});

test.run();
