/**
 * Scenarios 2, 3 and 6 on the board with U-Boot's env in NOR flash (QEMU 10); recovery-fat.test.ts runs
 * them on the other env placement at the same time. See recovery.ts.
 * ota-test: seconds 390
 */
import { recoverySuite } from './recovery.js';

recoverySuite(1);
