/**
 * Flashable disk images (`ota-fleet image build`): the board's partition table, the FAT boot
 * partition with boot.scr and the env, slot A from a root filesystem with the agent installed,
 * slot B empty, the data partition; a .bmap beside; the same inputs give the same bytes.
 */
export { buildImage, checkOutputs, outputPaths, type ImageResult, type ImageSpec } from './build.js';
export { AGENT_UNITS, PRE_INIT, type AgentSource } from './agent.js';
export { imageBootargs } from './boot.js';
export { DATA_LABEL } from './disk.js';
export { initialState, planEnv, type EnvPlan } from './env.js';
export { MIB, derivedUuid, parseSizeBytes, planLayout, type DiskLayout, type Partition, type PartitionSizes } from './layout.js';
export { rootfsSource, type RootfsSource } from './rootfs.js';
export { configTxt, defaultEnvOf, isRaspi } from './raspi.js';
