/**
 * Scenario 1 (a good update over MQTT, see update-suite.ts) on 32-bit arm: Debian's qemu_arm
 * U-Boot on qemu-system-arm (cortex-a15), the armhf kernel (bootz) and Node, uboot.env on FAT.
 * The only scenario on this board (ARM32_BOARD is not in QEMU_BOARDS).
 * ota-test: seconds 155
 */
import { ARM32_BOARD } from '../support/qemu/index.js';
import { updateSuite } from './update-suite.js';

updateSuite(ARM32_BOARD);
