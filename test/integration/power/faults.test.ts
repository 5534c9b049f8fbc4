// Power-loss harness (test/README.md): EIO once, EIO for good, ENOSPC, then a power cut; full-image release.
import { runFaults } from '../../support/power-suite.js';

runFaults('full');
