/**
 * `ota-fleet image build` on a tiny root filesystem made here (a tar with owners that are not the
 * caller's, a setuid file, Debian's `lib -> usr/lib` link), read back with the tools people flash and
 * inspect images with: sfdisk, mtools, debugfs, dumpe2fs, fw_printenv, bmaptool. The agent is the real
 * package (scripts/build-deb.mjs, built once here, or by the command itself without --agent-deb).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEnv } from '../../../agent/src/bootenv/index.js';
import { main as fleet } from '../../../fleet/src/cli/index.js';
import { runMain, tempDir, missingTools, isRoot, hasTool } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { agentDeb as sharedAgentDeb } from '../../support/agent-deb.js';
import { fwPrintenv } from '../../support/uboot-env-tools.js';
import { snapshot } from '../../support/trust.js';

const TOOLS = ['dpkg-deb', 'mke2fs', 'debugfs', 'dumpe2fs', 'mkfs.vfat', 'mcopy', 'sfdisk', 'mkimage', 'bmaptool', 'fw_printenv', 'tar', 'zstd', 'fakeroot'];
const it = gate(missingReason(missingTools('image build', ...TOOLS)));
const MIB = 1024 * 1024;
const BOARD = 'qemu-virt-arm64-file-env';
const SIZES = ['--boot-size', '8M', '--slot-size', '8M', '--data-size', '8M'];
const PARTS = { boot: 1, A: 9, B: 17, data: 25 }; // MiB offsets: 1 MiB, then 8 MiB each
const now = new Date('2030-01-01T00:00:00Z');
const EPOCH = '1700000000'; // the command's default SOURCE_DATE_EPOCH
const PRE_INIT_ARGS = 'console=ttyAMA0 panic=5 rootwait ro init=/usr/lib/ota-agent/ota-init'; // the board's, then the pre-init on a read-only root

const agentDeb = (): string => sharedAgentDeb(EPOCH);

function sh(cmd: string, args: readonly string[], cwd?: string): string {
  const r = spawnSync(cmd, [...args], { encoding: 'latin1', maxBuffer: 256 * MIB, ...(cwd === undefined ? {} : { cwd }), env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${String(r.status)}: ${r.stderr}`);
  return r.stdout;
}

/** A root filesystem tree, packed as a tar: root's files, then a user's (uid 1000) appended. */
function makeRootfs(dir: string): void {
  const src = join(dir, 'src');
  for (const d of ['etc', 'bin', 'usr/lib', 'home/user']) mkdirSync(join(src, d), { recursive: true });
  writeFileSync(join(src, 'etc/motd'), 'hello from the rootfs\n');
  writeFileSync(join(src, 'bin/tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(src, 'bin/tool'), 0o4755);
  symlinkSync('usr/lib', join(src, 'lib')); // merged /usr: the agent's units go through it
  if (isRoot) { mkdirSync(join(src, 'dev')); sh('mknod', ['-m', '600', join(src, 'dev/console'), 'c', '5', '1']); } // only root makes the tar's device node
  writeFileSync(join(src, 'home/user/secret'), 'the user\'s\n');
  chmodSync(join(src, 'home/user/secret'), 0o640);
  const common = ['--numeric-owner', '--sort=name', '--mtime=@1600000000', '-C', src];
  sh('tar', ['-cf', join(dir, 'root.tar'), '--owner=0', '--group=0', ...common, './etc', './bin', './usr', './lib', './home', ...(isRoot ? ['./dev'] : [])]);
  sh('tar', ['-rf', join(dir, 'root.tar'), '--owner=1000', '--group=1001', ...common, './home/user', './home/user/secret']);
  sh('zstd', ['-q', '-f', join(dir, 'root.tar'), '-o', join(dir, 'root.tar.zst')]);
  rmSync(join(src, 'dev'), { recursive: true, force: true }); // the console's node: reading it (snapshot) would block
}

/** `image build` with the prebuilt .deb unless the case gives its own --agent-deb or `fromSource`. */
async function build(dir: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const sizes = SIZES.filter((_, i) => !extra.includes(SIZES[i - (i % 2)] ?? '')); // a size the case gives replaces the default
  const agent = extra.includes('--agent-deb') ? [] : ['--agent-deb', agentDeb()];
  return runMain(fleet, ['image', 'build', ...agent, ...sizes, ...extra], { cwd: dir, now, env: { SOURCE_DATE_EPOCH: EPOCH } });
}

/** `image build` without --agent-deb: the command builds the package from this tree. */
async function buildFromSource(dir: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(fleet, ['image', 'build', ...SIZES, ...extra], { cwd: dir, now, env: { SOURCE_DATE_EPOCH: EPOCH } });
}

/** Every file and link of the package, checked in slot A: same bytes or target, same mode, root's. */
function assertPackageInstalled(slotA: string, deb: string, dir: string): void {
  const tree = join(dir, 'deb-tree');
  sh('dpkg-deb', ['-x', deb, tree]);
  const entries = sh('dpkg-deb', ['-c', deb]).split('\n').filter((l) => /^[-l]/.test(l));
  assert.ok(entries.some((l) => / \.\/usr\/lib\/ota-agent\/ota-init$/.test(l)), 'the package has the pre-init');
  for (const line of entries) {
    const m = /^([-l])(\S+) \S+ +\d+ \S+ \S+ \.(\/\S+)(?: -> (\S+))?$/.exec(line);
    assert.ok(m !== null, line);
    const [, kind, perms, path] = m ?? [];
    const st = debugfs(slotA, `stat "${path ?? ''}"`);
    assert.match(st, /User: +0 +Group: +0 /, `${path ?? ''} is root's`);
    if (kind === 'l') { assert.match(st, new RegExp(`Fast link dest: "${(m?.[4] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`), line); continue; }
    const mode = (perms ?? '').replace(/[^-]/g, '1').replace(/-/g, '0');
    assert.match(st, new RegExp(`Mode: +0${parseInt(mode, 2).toString(8)}\\b`), line);
    assert.ok(Buffer.from(debugfs(slotA, `cat "${path ?? ''}"`), 'latin1').equals(readFileSync(join(tree, path ?? ''))), `${path ?? ''} differs from the package's`);
  }
}

/** Bytes [offset, offset+size) of a file. */
function region(file: string, offsetMiB: number, sizeMiB = 8): Buffer {
  return readFileSync(file).subarray(offsetMiB * MIB, (offsetMiB + sizeMiB) * MIB);
}

function debugfs(image: string, request: string): string {
  return sh('debugfs', ['-R', request, image]);
}

/** Wait for the next wall-clock second, so that a second build's files have other times than the first's. */
async function nextSecond(): Promise<void> {
  const start = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === start) await new Promise((r) => setTimeout(r, 50));
}

/** What `bmaptool copy` does to a block device: write the mapped ranges only, over whatever was there. */
function flashMapped(image: string, bmapFile: string, card: string): void {
  const bmap = readFileSync(bmapFile, 'utf8');
  const blockBytes = Number(/<BlockSize>\s*(\d+)/.exec(bmap)?.[1]);
  const out = Buffer.from(readFileSync(card));
  const img = readFileSync(image);
  for (const m of bmap.matchAll(/<Range[^>]*>\s*(\d+)(?:-(\d+))?\s*<\/Range>/g)) {
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    img.copy(out, first * blockBytes, first * blockBytes, (last + 1) * blockBytes);
  }
  writeFileSync(card, out);
}

it('builds the same bytes twice (the .deb built by the command from a tar, then given with a tar.zst a second later); the disk holds the board layout, boot.scr, the env, the rootfs with its owners and the agent; the .bmap flashes it', async () => {
  const { dir, cleanup } = tempDir('ota-image-');
  try {
    makeRootfs(dir);
    assert.is((await runMain(fleet, ['keygen', '--out', 'KEYS'], { cwd: dir, now })).code, 0);
    const first = await buildFromSource(dir, '--board', BOARD, '--rootfs', 'root.tar', '--out', 'one.img', '--version', '1', '--keys', 'KEYS', '--release-out', 'R1', '--slot-out', 'slot-A.img');
    assert.is(first.code, 0, first.stderr);
    assert.match(first.stderr, /image: slot A/);
    await nextSecond();
    const second = await build(dir, '--board', BOARD, '--rootfs', 'root.tar.zst', '--out', 'two.img');
    assert.is(second.code, 0, second.stderr);
    const disk = join(dir, 'one.img');
    assert.ok(readFileSync(disk).equals(readFileSync(join(dir, 'two.img'))), 'the two disk images differ');
    assert.is(readFileSync(join(dir, 'one.bmap'), 'utf8'), readFileSync(join(dir, 'two.bmap'), 'utf8'));

    // the partition table
    const table = JSON.parse(sh('sfdisk', ['--json', disk])) as { partitiontable: { label: string; partitions: Array<{ start: number; size: number; type: string }> } };
    assert.is(table.partitiontable.label, 'dos');
    assert.equal(table.partitiontable.partitions.map((p) => [p.start * 512 / MIB, p.size * 512 / MIB, p.type]),
      [[PARTS.boot, 8, '1'], [PARTS.A, 8, '83'], [PARTS.B, 8, '83'], [PARTS.data, 8, '83']]);

    // the boot partition: boot.scr with the board's settings, uboot.env with A primary and committed
    const fat = `${disk}@@${PARTS.boot * MIB}`;
    const scr = Buffer.from(sh('mcopy', ['-i', fat, '-n', '::boot.scr', '-']), 'latin1');
    assert.is(scr.readUInt32BE(0), 0x27051956, 'boot.scr is a U-Boot image');
    assert.ok(scr.includes("setenv ota_env_file 'uboot.env'") && scr.includes('BOOT_ORDER'), 'boot.scr holds the board prologue and boot.cmd');
    assert.ok(scr.includes(`setenv ota_bootargs '${PRE_INIT_ARGS}'`), 'the kernel starts the pre-init on a read-only root');
    const envFile = join(dir, 'uboot.env');
    writeFileSync(envFile, Buffer.from(sh('mcopy', ['-i', fat, '-n', '::uboot.env', '-']), 'latin1'));
    const vars = decodeEnv([readFileSync(envFile)], 'incremental').vars;
    assert.equal([vars.get('BOOT_ORDER'), vars.get('BOOT_A_LEFT'), vars.get('BOOT_B_LEFT')], ['A', '3', '0']);
    writeFileSync(join(dir, 'fw_env.config'), `${envFile} 0x0 0x4000\n`);
    assert.is(fwPrintenv(join(dir, 'fw_env.config')), 'BOOT_A_LEFT=3\nBOOT_B_LEFT=0\nBOOT_ORDER=A\n');

    // slot A: the tar's owners and modes, the agent, its enabled units, the board's fw_env.config
    const slotA = join(dir, 'a.img');
    writeFileSync(slotA, region(disk, PARTS.A));
    assert.ok(readFileSync(slotA).equals(readFileSync(join(dir, 'slot-A.img'))), '--slot-out is slot A');
    assert.match(debugfs(slotA, 'stat /etc/motd'), /Mode: +0644[\s\S]*User: +0 +Group: +0 /);
    assert.match(debugfs(slotA, 'stat /bin/tool'), /Mode: +04755[\s\S]*User: +0 +Group: +0 /);
    assert.match(debugfs(slotA, 'stat /home/user/secret'), /Mode: +0640[\s\S]*User: +1000 +Group: +1001 /);
    assert.match(debugfs(slotA, 'stat /home/user/secret'), /mtime: 0x5f5e1000/, 'the tar\'s mtime (before SOURCE_DATE_EPOCH) is kept');
    if (isRoot) assert.match(debugfs(slotA, 'stat /dev/console'), /Type: character special +Mode: +0600[\s\S]*Device major\/minor number: 05:01/);
    assertPackageInstalled(slotA, agentDeb(), dir);
    assert.match(debugfs(slotA, 'stat /lib'), /Type: symlink[\s\S]*Fast link dest: "usr\/lib"/, 'the package replaced the /lib link with a folder');
    assert.match(debugfs(slotA, 'cat /usr/lib/systemd/system/ota-agent.service'), /ExecStart=\/usr\/bin\/node .*\/usr\/lib\/ota-agent\/ota-agent\.mjs run/);
    for (const unit of ['ota-agent.service', 'ota-agent-health.service']) {
      assert.match(debugfs(slotA, `stat /etc/systemd/system/multi-user.target.wants/${unit}`), new RegExp(`Fast link dest: "/lib/systemd/system/${unit}"`));
    }
    assert.match(debugfs(slotA, 'stat /etc/ota-agent/agent.json'), /Fast link dest: "\/var\/lib\/ota-agent\/agent\.json"/, 'the config lives on the data partition');
    assert.match(debugfs(slotA, 'cat /etc/ota-agent/provision.example.json'), /"device": "\/dev\/vda3"/);
    assert.match(debugfs(slotA, 'stat /data'), /Type: directory +Mode: +0755/, 'the pre-init mounts the data partition on /data');
    assert.match(debugfs(slotA, 'cat /etc/fw_env.config'), /^\/boot\/firmware\/uboot\.env 0x0 0x4000$/m);
    assert.match(sh('dumpe2fs', ['-h', slotA]), /Filesystem features: +(?![^\n]*has_journal)[^\n]*\n/, 'slot A has no journal');

    // slot B empty, the data partition labelled ota-data and empty: the pre-init lays it out (docs/data-partition.md)
    assert.ok(region(disk, PARTS.B).equals(Buffer.alloc(8 * MIB)), 'slot B is not empty');
    const data = `${disk}?offset=${PARTS.data * MIB}`;
    assert.match(sh('dumpe2fs', ['-h', data]), /Filesystem volume name: +ota-data\n/);
    assert.equal(debugfs(data, 'ls -p /').split('\n').filter((l) => l !== '').map((l) => l.split('/')[5]).sort(), ['.', '..', 'lost+found']);

    // the factory release is of slot A's bytes
    const release = JSON.parse(readFileSync(join(dir, 'R1/release.json'), 'utf8')) as { signed: { version: number; installed: { sha256: string; sizeBytes: number } } };
    assert.equal(release.signed.installed, { sizeBytes: 8 * MIB, sha256: createHash('sha256').update(readFileSync(slotA)).digest('hex') });
    assert.is(release.signed.version, 1);

    // bmaptool copy gives the image back; flashed over old data, slot A is still the release's bytes and both filesystems check clean
    sh('bmaptool', ['copy', disk, join(dir, 'copy.img')]);
    assert.ok(readFileSync(join(dir, 'copy.img')).equals(readFileSync(disk)), 'bmaptool copy differs from the image');
    const card = join(dir, 'card.img');
    writeFileSync(card, Buffer.alloc(readFileSync(disk).length, 0xa5));
    flashMapped(disk, join(dir, 'one.bmap'), card);
    assert.ok(region(card, PARTS.A).equals(readFileSync(slotA)), 'slot A on a used card is not the released image: the .bmap must map it whole');
    sh('e2fsck', ['-fn', `${card}?offset=${PARTS.data * MIB}`]);
    writeFileSync(join(dir, 'card-boot.img'), region(card, PARTS.boot));
    sh('fsck.vfat', ['-n', join(dir, 'card-boot.img')]);
  } finally {
    cleanup();
  }
});

it('refuses, in one line with its code and writing nothing: an unknown board, a missing rootfs, a bad tar, an existing output, a rootfs larger than the slot, a /data that is a file, half a release', async () => {
  const { dir, cleanup } = tempDir('ota-image-refuse-');
  try {
    makeRootfs(dir);
    writeFileSync(join(dir, 'bad.tar'), 'not a tar at all\n'.repeat(100));
    mkdirSync(join(dir, 'big/etc'), { recursive: true });
    writeFileSync(join(dir, 'big/etc/blob'), createHash('sha256').update('x').digest().toString('hex').repeat(9 * MIB / 64));
    writeFileSync(join(dir, 'taken.img'), 'mine');
    mkdirSync(join(dir, 'datafile/etc'), { recursive: true });
    writeFileSync(join(dir, 'datafile/data'), 'not a folder\n');
    const cases: Array<[string[], RegExp]> = [
      [['--board', 'no-such-board', '--rootfs', 'root.tar', '--out', 'd.img'], /no such board: use one of .*qemu-virt-arm64-file-env.* \[IMAGE_BOARD_UNKNOWN\]$/],
      [['--rootfs', 'missing.tar', '--out', 'd.img'], /--rootfs .*missing\.tar.*ENOENT.* \[IMAGE_ROOTFS_MISSING\]$/],
      [['--rootfs', 'bad.tar', '--out', 'd.img'], /not a readable tar: tar failed: .* \[IMAGE_ROOTFS_INVALID\]$/],
      [['--rootfs', 'root.tar', '--out', 'taken.img'], /taken\.img exists: pass --force .* \[IMAGE_EXISTS\]$/],
      [['--rootfs', 'root.tar', '--out', 'no/d.img'], /the folder .*\/no does not exist: create it first \[IMAGE_OUT_INVALID\]$/],
      [['--rootfs', 'big', '--out', 'd.img'], /but a slot holds 8388608: give a larger --slot-size \[IMAGE_ROOTFS_TOO_LARGE\]$/],
      [['--rootfs', 'datafile', '--out', 'd.img'], /rootfs: \/data is not a directory, but the pre-init mounts the data partition there: remove it .* \[IMAGE_ROOTFS_INVALID\]$/],
      [['--rootfs', 'root.tar', '--out', 'd.img', '--version', '2'], /needs --version, --keys and --release-out together \[USAGE\]$/],
      [['--rootfs', 'root.tar', '--out', 'd.img', '--slot-size', '3.5M'], /--slot-size "3\.5M": give a positive whole number of MiB .* \[USAGE\]$/],
    ];
    for (const [args, message] of cases) {
      const before = snapshot(dir);
      const r = await build(dir, ...(args[0] === '--board' ? [] : ['--board', BOARD]), ...args);
      assert.is(r.code, message.source.includes('USAGE') ? 2 : 1, `${args.join(' ')}: usage errors exit 2, refusals 1 (docs/cli.md)`);
      const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('image: ') && !l.startsWith('(see ota-fleet --help)'));
      assert.is(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0] ?? '', message, args.join(' '));
      assert.equal(snapshot(dir), before, `${args.join(' ')}: something was written`);
    }
    const forced = await build(dir, '--board', BOARD, '--rootfs', 'root.tar', '--out', 'taken.img', '--force');
    assert.is(forced.code, 0, forced.stderr);
    assert.is(readFileSync(join(dir, 'taken.img')).length, 33 * MIB, '--force replaces the file with the disk');
  } finally {
    cleanup();
  }
});

it("a board whose env is U-Boot's own store: NOR flash gets DISK.env.img beside the disk (erased, or U-Boot's defaults with A primary and committed); a FAT one gets no uboot.env without the defaults", async () => {
  const { dir, cleanup } = tempDir('ota-image-env-');
  try {
    makeRootfs(dir);
    writeFileSync(join(dir, 'defaults.txt'), 'bootcmd=run distro_bootcmd\nkernel_addr_r=0x40400000\n');
    const erased = await build(dir, '--board', 'qemu-virt-arm64', '--rootfs', 'root.tar', '--out', 'nor.img');
    assert.is(erased.code, 0, erased.stderr);
    assert.ok(readFileSync(join(dir, 'nor.env.img')).equals(Buffer.alloc(0x40000, 0xff)), 'the NOR env image is not erased');
    assert.match(erased.stdout, /env store \/dev\/mtd0 erased/);
    const seeded = await build(dir, '--board', 'qemu-virt-arm64', '--rootfs', 'root.tar', '--out', 'seeded.img', '--uboot-env-defaults', 'defaults.txt');
    assert.is(seeded.code, 0, seeded.stderr);
    const image = join(dir, 'seeded.env.img');
    assert.is(readFileSync(image).length, 0x40000);
    writeFileSync(join(dir, 'fw_env.config'), `${image} 0x0 0x40000 0x40000\n`);
    assert.is(fwPrintenv(join(dir, 'fw_env.config')), 'BOOT_A_LEFT=3\nBOOT_B_LEFT=0\nBOOT_ORDER=A\nbootcmd=run distro_bootcmd\nkernel_addr_r=0x40400000\n');
    // a disk past 512 MiB (mkfs.vfat given the disk at an offset judged the FAT by the disk file's size and refused)
    // a board with U-Boot's env in uboot.env on the FAT that is not a Raspberry Pi (a Pi's image reads U-Boot's defaults out of its u-boot.bin: raspi.test.ts)
    const fatNative = { ...JSON.parse(readFileSync(new URL('../../../../board-configs/rpi-4.json', import.meta.url), 'utf8')) as Record<string, unknown>, board: 'fat-native', uboot: { defconfig: 'other_board_defconfig', requires: ['CONFIG_ENV_IS_IN_FAT=y'], notes: 'U-Boot env in uboot.env on the FAT' } };
    writeFileSync(join(dir, 'fat-native.json'), JSON.stringify(fatNative));
    const rpi = await build(dir, '--board', 'fat-native.json', '--rootfs', 'root.tar', '--out', 'rpi.img', '--boot-size', '64M', '--data-size', '600M');
    assert.is(rpi.code, 0, rpi.stderr);
    assert.match(sh('file', ['-s', join(dir, 'rpi.img')]), /partition 1 : ID=0xe, active/, 'the boot partition is FAT16 LBA (8 MiB ones are FAT12, 0x01)');
    assert.match(sh('mdir', ['-b', '-i', `${join(dir, 'rpi.img')}@@${PARTS.boot * MIB}`, '::']), /^::\/boot\.scr\n$/);
  } finally {
    cleanup();
  }
});

it('--agent-deb: a package without the pre-init (the image would boot init= into nothing) or a missing file is refused in one line, writing nothing', async () => {
  const { dir, cleanup } = tempDir('ota-image-deb-');
  try {
    makeRootfs(dir);
    const pkg = join(dir, 'pkg');
    for (const d of ['DEBIAN', 'usr/lib/ota-agent', 'usr/bin']) mkdirSync(join(pkg, d), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: ota-agent\nVersion: 0.1.0\nArchitecture: all\nMaintainer: Test <test@example.com>\nDescription: test package\n');
    writeFileSync(join(pkg, 'usr/lib/ota-agent/ota-agent.mjs'), 'the bundle from the deb\n');
    writeFileSync(join(pkg, 'usr/bin/ota-agent'), '#!/bin/sh\n');
    chmodSync(join(pkg, 'usr/bin/ota-agent'), 0o755);
    sh('dpkg-deb', ['--root-owner-group', '-b', pkg, join(dir, 'agent.deb')]);
    rmSync(pkg, { recursive: true });
    const cases: Array<[string, RegExp]> = [
      ['agent.deb', /agent .*agent\.deb: no executable \/usr\/lib\/ota-agent\/ota-init .*: give a package from npm run build:deb \[IMAGE_AGENT_DEB_INVALID\]$/],
      ['missing.deb', /--agent-deb .*missing\.deb does not exist: run npm run build:deb, or leave --agent-deb out .* \[IMAGE_AGENT_MISSING\]$/],
    ];
    for (const [deb, message] of cases) {
      const before = snapshot(dir);
      const r = await build(dir, '--board', BOARD, '--rootfs', 'root.tar', '--out', 'deb.img', '--agent-deb', deb);
      assert.is(r.code, 1, deb);
      const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('image: ') && !l.startsWith('(see ota-fleet --help)'));
      assert.is(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? '', message);
      assert.equal(snapshot(dir), before, `${deb}: something was written`);
    }
  } finally {
    cleanup();
  }
});

const asNobody = gate(!isRoot ? 'runs as root to start the build as another user' : missingReason(['setpriv'].filter((t) => !hasTool(t))));

asNobody('without root (as nobody), the tar\'s owners, modes and device node are kept through fakeroot: the same bytes as root builds', async () => {
  const { dir, cleanup } = tempDir('ota-image-nobody-');
  try {
    chmodSync(dir, 0o777);
    makeRootfs(dir);
    const asRoot = await build(dir, '--board', BOARD, '--rootfs', 'root.tar', '--out', 'root.img');
    assert.is(asRoot.code, 0, asRoot.stderr);
    const bin = new URL('../../../../bin/ota-fleet.js', import.meta.url).pathname;
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, bin, 'image', 'build', '--board', BOARD,
      '--agent-deb', agentDeb(), ...SIZES, '--rootfs', 'root.tar', '--out', 'nobody.img'], { cwd: dir, encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH } });
    assert.is(r.status, 0, r.stderr);
    assert.ok(readFileSync(join(dir, 'nobody.img')).equals(readFileSync(join(dir, 'root.img'))), 'a build without root differs from one as root');
  } finally {
    cleanup();
  }
});

test.run();
