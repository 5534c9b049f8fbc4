/**
 * Scenario 1 on the systemd slot with uboot.env on FAT (QEMU 7.2): the device's /etc kept on B, a rollback
 * to A's view; then the drift case: the root remounted read-write and written, the next update commits
 * through the full image (systemd-suite.ts).
 * ota-test: seconds 670
 */
import { QEMU_BOARDS } from '../support/qemu/index.js';
import { systemdSuite } from './systemd-suite.js';

const fat = QEMU_BOARDS.find((b) => b.board === 'qemu-virt-arm64-file-env');
if (fat === undefined) throw new Error('QEMU_BOARDS lost the uboot.env-on-FAT board');
systemdSuite(fat, { full: true });
