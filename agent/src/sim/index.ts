/**
 * The simulated device: a file-backed A/B device (slots, U-Boot env, kernel
 * command line) whose power-on runs the real boot script in the simulator.
 */
export { createSimDevice, simAgentConfig, SIM_FILES } from './create.js';
export type { SimSpec } from './create.js';
export { bootRuns, powerOn, SIM_DEFAULT_ENV, SIM_DISTRO_BOOT_VARS } from './power.js';
export type { PowerOn, PowerOnRuns } from './power.js';
