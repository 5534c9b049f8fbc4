/**
 * Scenario 1 on the systemd slot with U-Boot's env in NOR flash (QEMU 10, the guest's NOR modules): the
 * shipped units arm B and commit it through the NOR env from their sandbox, the device's /etc kept on B,
 * a rollback read back in the env (see systemd-suite.ts); A's view after the rollback and the drift case
 * run on the FAT board only (systemd.test.ts).
 * ota-test: seconds 300
 */
import { QEMU_BOARDS } from '../support/qemu/index.js';
import { systemdSuite } from './systemd-suite.js';

const nor = QEMU_BOARDS.find((b) => b.board === 'qemu-virt-arm64');
if (nor === undefined) throw new Error('QEMU_BOARDS lost the NOR flash board');
systemdSuite(nor, { full: false });
