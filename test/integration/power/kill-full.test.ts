// Power-loss harness (test/README.md): every kill point, OTA_POWER_SEEDS seeds (default 5), full-image release.
import { runKillPoints } from '../../support/power-suite.js';

runKillPoints('full');
