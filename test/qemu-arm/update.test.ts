/**
 * Scenario 1 (a good update over MQTT, see update-suite.ts) on both env placements:
 * uboot.env on FAT (QEMU 7.2) and U-Boot's env in NOR flash (QEMU 10).
 * ota-test: seconds 255
 */
import { QEMU_BOARDS } from '../support/qemu/index.js';
import { updateSuite } from './update-suite.js';

for (const board of QEMU_BOARDS) updateSuite(board);
