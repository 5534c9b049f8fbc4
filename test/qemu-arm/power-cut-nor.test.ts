/**
 * Scenario 4 (power cuts) on the board with U-Boot's env in NOR flash (QEMU 10);
 * power-cut-fat.test.ts runs it on the FAT board at the same time. See power-cut.ts.
 * ota-test: seconds 190
 */
import { powerCutSuite } from './power-cut-suite.js';

powerCutSuite(1);
