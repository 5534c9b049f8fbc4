// Power-loss harness (test/README.md): every kill point, OTA_POWER_SEEDS seeds (default 5), delta release.
import { runKillPoints } from '../../support/power-suite.js';

runKillPoints('delta');
