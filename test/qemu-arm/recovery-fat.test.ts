/**
 * Scenarios 2, 3 and 6 on the board with uboot.env on FAT (QEMU 7.2); recovery-nor.test.ts runs
 * them on the other env placement at the same time. See recovery.ts.
 * ota-test: seconds 370
 */
import { recoverySuite } from './recovery.js';

recoverySuite(0);
