/**
 * Scenarios 2, 3 (panic) and 6 (offline install) on the board with uboot.env on FAT (QEMU 7.2);
 * recovery-nor.test.ts runs 2, 3 (panic) and 3 (hung init) on the other env placement at the same time.
 * See recovery.ts for why the hung init and the offline install each run on one placement.
 * ota-test: seconds 360
 */
import { recoverySuite } from './recovery.js';

recoverySuite(0, ['health', 'panic', 'offline']);
