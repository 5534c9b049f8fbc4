/**
 * The disk `ota-fleet image build` makes boots on real U-Boot (qemu-virt-arm64-file-env, QEMU 7.2):
 * its root filesystem is the QEMU builder's slot A (busybox, Node.js 18, a Debian kernel and
 * initramfs in /boot), taken out of the builder's disk with debugfs and given to `image build` as a
 * directory. U-Boot runs the boot.scr the command compiled, reads the uboot.env it wrote (A primary
 * and committed, B bad), boots slot A to its init, and the guest's fw_printenv reads the state U-Boot
 * saved; the agent's files are where the Debian package (built by the command from this tree) puts
 * them, and the kernel was started with the pre-init on a read-only root. The busybox slot's test
 * initramfs switches to /sbin/init whatever init= says, so the pre-init itself does not run here
 * (test/integration/etc/ota-init.test.ts runs it; a systemd image runs it for real).
 * ota-test: seconds 120
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
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
