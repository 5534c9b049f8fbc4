/**
 * Scenario 4 (power cuts) on the board with uboot.env on FAT (QEMU 7.2); power-cut-nor.test.ts
 * runs it on the NOR flash board at the same time. See power-cut.ts.
 * ota-test: seconds 185
 */
import { powerCutSuite } from './power-cut-suite.js';

powerCutSuite(0);
