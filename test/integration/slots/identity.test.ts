// The booted slot under another name is still the booted slot: a hard link (same device and inode), a
// second device node of the same block device (same st_rdev), or the device backing the mounted root
// (mountinfo). And a slot's configured size never exceeds what the file or device really holds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { linkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { SlotTable } from '../../../agent/src/slots/index.js';
import { isRoot, tempDir } from '../../support/tools.js';

async function refused(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OtaError && err.code === code, `expected ${code}, got ${String(err)}`);
    if (message !== undefined) assert.match(String(err), message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('a hard link of the booted slot is refused as a target (device and inode compared, not paths)', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'a.img'), Buffer.alloc(8192));
    linkSync(join(t.dir, 'a.img'), join(t.dir, 'b.img'));
    const table = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: join(t.dir, 'b.img') } });
    await refused(table.target('B', 'A'), 'SLOT_BOOTED');
    await refused(table.target('A', 'B'), 'SLOT_BOOTED');
  } finally { t.cleanup(); }
});

test('slots.B.sizeBytes larger than the slot file is refused before writing; smaller is used as given', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'a.img'), Buffer.alloc(8192));
    writeFileSync(join(t.dir, 'b.img'), Buffer.alloc(4096));
    const over = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: join(t.dir, 'b.img'), sizeBytes: 1024 * 1024 } });
    await refused(over.target('B', 'A'), 'SLOT_SIZE', /has 4096 bytes but slots\.B\.sizeBytes says 1048576/);
    const under = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: join(t.dir, 'b.img'), sizeBytes: 1024 } });
    assert.is((await under.target('B', 'A')).sizeBytes, 1024);
  } finally { t.cleanup(); }
});

// Device nodes need mknod (root). Loop devices exist on any Linux host with the loop driver; none is attached here.
const skip = !isRoot ? 'needs root (mknod)' : undefined;
if (skip !== undefined) console.log(`# skipping the device-node slot tests: ${skip}`);
const rooted = skip === undefined ? test : test.skip;

function node(dir: string, name: string, major: number, minor: number): string {
  const path = join(dir, name);
  execFileSync('mknod', [path, 'b', String(major), String(minor)]);
  return path;
}

rooted('a second device node of the booted slot\'s block device is refused (st_rdev compared)', async () => {
  const t = tempDir();
  try {
    const a = node(t.dir, 'slot-a', 7, 200);
    const b = node(t.dir, 'other-name', 7, 200);
    const table = new SlotTable({ A: { device: a }, B: { device: b } }, { mountinfoPath: join(t.dir, 'mountinfo') });
    writeFileSync(join(t.dir, 'mountinfo'), '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n');
    await refused(table.target('B', 'A'), 'SLOT_BOOTED');
  } finally { t.cleanup(); }
});

rooted('a block device that backs the mounted root (or any mount) is refused; the real size comes from sysfs', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'a.img'), Buffer.alloc(8192));
    const b = node(t.dir, 'slot-b', 7, 201);
    const mountinfo = join(t.dir, 'mountinfo');
    const sysfs = join(t.dir, 'sys');
    execFileSync('mkdir', ['-p', join(sysfs, 'dev/block/7:201')]);
    writeFileSync(join(sysfs, 'dev/block/7:201/size'), '2048\n');
    const table = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: b } }, { mountinfoPath: mountinfo, sysfsRoot: sysfs });
    writeFileSync(mountinfo, '22 27 0:21 / /proc rw - proc proc rw\n27 1 7:201 / / rw,relatime - ext4 /dev/root rw\n');
    await refused(table.target('B', 'A'), 'SLOT_BOOTED', /backs the mounted root filesystem/);
    writeFileSync(mountinfo, '27 1 254:0 / / rw - ext4 /dev/vda rw\n40 27 7:201 / /mnt/other\\040slot rw - ext4 /dev/loop rw\n');
    await refused(table.target('B', 'A'), 'SLOT_MOUNTED', /mounted on \/mnt\/other slot/);
    writeFileSync(mountinfo, '27 1 254:0 / / rw - ext4 /dev/vda rw\n');
    assert.equal(await table.target('B', 'A'), { slot: 'B', device: b, sizeBytes: 2048 * 512 });
    const over = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: b, sizeBytes: 2048 * 512 + 1 } }, { mountinfoPath: mountinfo, sysfsRoot: sysfs });
    await refused(over.target('B', 'A'), 'SLOT_SIZE');
  } finally { t.cleanup(); }
});

test.run();
