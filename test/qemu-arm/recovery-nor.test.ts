/**
 * Scenarios 2, 3 (panic) and 3 (hung init) on the board with U-Boot's env in NOR flash (QEMU 10);
 * recovery-fat.test.ts runs 2, 3 (panic) and 6 (offline install) on the other env placement at the same
 * time. See recovery.ts for why the hung init and the offline install each run on one placement.
 * ota-test: seconds 380
 */
import { recoverySuite } from './recovery.js';

recoverySuite(1, ['health', 'panic', 'hung']);
