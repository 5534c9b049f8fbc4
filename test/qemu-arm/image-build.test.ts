/**
 * The disk `ota-fleet image build` makes boots on real U-Boot (qemu-virt-arm64-file-env, QEMU 7.2):
 * its root filesystem is the QEMU builder's slot A (busybox, Node.js 18, a Debian kernel and
 * initramfs in /boot), taken out of the builder's disk with debugfs and given to `image build` as a
 * directory. U-Boot runs the boot.scr the command compiled, reads the uboot.env it wrote (A primary
 * and committed, B bad), boots slot A to its init, and the guest's fw_printenv reads the state U-Boot
 * saved; the agent's files are where the Debian package (built by the command from this tree) puts
 * them; the kernel starts the package's pre-init (the test initramfs hands over to init=, as
 * initramfs-tools does), which lays out the empty data partition, mounts /etc as this slot's overlay
 * and /var, and execs the slot's init. The busybox slot has /bin/busybox alone and no /var: the applets
 * the pre-init runs are linked in here and /var made, as a real root filesystem has them.
 * ota-test: seconds 120
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { main as fleet } from '../../fleet/src/cli/index.js';
import { runMain, tempDir } from '../support/tools.js';
import { Machine, QEMU_BOARDS, boardRuns, ensureImage, extractPartition, logDirFor } from '../support/qemu/index.js';
import { gate } from '../support/skip.js';

const BOARD = 'qemu-virt-arm64-file-env';
const STEP_TIMEOUT_MS = 90_000;
const MIB = 1024 * 1024;
const board = QEMU_BOARDS.find((b) => b.board === BOARD);
if (board === undefined) throw new Error(`${BOARD} is not a QEMU board case`);
const { skip, qemu } = boardRuns(board, ['debugfs']);
const it = gate(skip);

it('a disk from ota-fleet image build boots slot A on real U-Boot with the env it wrote', async () => {
  const { dir, cleanup } = tempDir('ota-qemu-image-');
  try {
    const layout = ensureImage(BOARD);
    const slot = extractPartition(layout.diskPath, layout.partitions.A, join(dir, 'builder-slot-A.img'));
    const rootfs = join(dir, 'rootfs');
    mkdirSync(rootfs);
    const dump = spawnSync('debugfs', ['-R', `rdump / ${rootfs}`, slot], { encoding: 'utf8' });
    assert.is(dump.status, 0, dump.stderr);
    mkdirSync(join(rootfs, 'var'), { recursive: true }); // the busybox slot has none; the pre-init overlays it
    for (const applet of ['sh', 'mount', 'umount', 'grep', 'mkdir', 'cat', 'chmod', 'findfs']) {
      if (!existsSync(join(rootfs, 'bin', applet))) symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
    const built = await runMain(fleet, ['image', 'build', '--board', BOARD, '--rootfs', 'rootfs', '--out', 'disk.img', '--boot-size', '16M', '--slot-size', `${layout.partitions.A.sizeBytes / MIB}M`, '--data-size', '16M'], { cwd: dir });
    assert.is(built.code, 0, built.stderr);
    const m = await Machine.start({ diskPath: join(dir, 'disk.img'), logDir: logDirFor('image-build'), ...(qemu === undefined ? {} : { qemu }) });
    try {
      const chosen = await m.waitFor('script-slot', { timeoutMs: STEP_TIMEOUT_MS });
      assert.is(chosen.slot, 'A', 'the boot script chooses A');
      assert.is((await m.waitFor('kernel-cmdline', { timeoutMs: STEP_TIMEOUT_MS })).slot, 'A');
      assert.is((await m.waitFor('init', { timeoutMs: STEP_TIMEOUT_MS })).slot, 'A', "slot A's init runs");
      await m.waitFor('init-ready', { timeoutMs: STEP_TIMEOUT_MS });
      const env = await m.shell('fw_printenv -c /etc/fw_env.config BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT', STEP_TIMEOUT_MS);
      assert.equal(env.split('\n'), ['BOOT_ORDER=A', 'BOOT_A_LEFT=2', 'BOOT_B_LEFT=0'], 'U-Boot started from the image\'s env (A primary, B bad) and spent one try of A');
      const files = await m.shell('ls /usr/lib/ota-agent /etc/systemd/system/multi-user.target.wants', STEP_TIMEOUT_MS);
      assert.ok(files.includes('ota-agent.mjs') && files.includes('ota-init') && files.includes('ota-agent-health.service'), files);
      const cmdline = await m.shell('cat /proc/cmdline', STEP_TIMEOUT_MS);
      assert.match(cmdline, / ro init=\/usr\/lib\/ota-agent\/ota-init root=\/dev\/vda2 ota\.slot=A /, 'the kernel is told to start the pre-init on a read-only root');
      assert.not.match(cmdline, /(^| )rw( |$)/);
      const state = await m.shell('awk \'$2 == "/etc" || $2 == "/var" || $2 == "/var/lib/ota-agent" { print $2, $3 }\' /proc/mounts; ls -d /data/overlay/A/etc/upper /data/var/upper /data/ota-agent; dmesg | grep -c "ota-init: slot A: /etc and /var on"', STEP_TIMEOUT_MS);
      assert.equal(state.split('\n'), ['/etc overlay', '/var overlay', '/var/lib/ota-agent ext4', '/data/ota-agent', '/data/overlay/A/etc/upper', '/data/var/upper', '1'],
        'the pre-init ran: the data partition laid out, /etc and /var overlays, the agent\'s directory bound');
    } catch (err) {
      console.log(m.failureReport());
      throw err;
    } finally {
      await m.kill();
    }
  } finally {
    cleanup();
  }
});

test.run();
