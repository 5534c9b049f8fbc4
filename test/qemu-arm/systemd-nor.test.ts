/**
 * Scenario 1 on the systemd slot with U-Boot's env in NOR flash (QEMU 10, the guest's NOR modules): the
 * device's /etc kept on B, a rollback to A's view, see systemd-suite.ts; the drift case runs on the FAT
 * board only (systemd.test.ts).
 * ota-test: seconds 400
 */
import { QEMU_BOARDS } from '../support/qemu/index.js';
import { systemdSuite } from './systemd-suite.js';

const nor = QEMU_BOARDS.find((b) => b.board === 'qemu-virt-arm64');
if (nor === undefined) throw new Error('QEMU_BOARDS lost the NOR flash board');
systemdSuite(nor, { drift: false });
