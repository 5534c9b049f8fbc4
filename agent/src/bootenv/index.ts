/**
 * The U-Boot environment: a pure codec (single and redundant copies, CRC32, both flag schemes,
 * U-Boot's exact copy choice), the fw_env.config parser, storage backends (file or block device
 * at an offset, eMMC boot partition, MTD NOR, FAT `uboot.env`), and `BootEnv` on top of them.
 */
export type { BootEnv, EnvChanges, EnvVars } from './env.js';
export { UBootEnv, type UBootEnvParts, type UpdateOptions } from './uboot-env.js';
export { openBootEnv, DEFAULT_ENV_CONFIG_PATH, type OpenBootEnvOptions } from './open.js';
export { parseEnvConfig, readEnvConfig, type EnvConfig, type EnvDeviceConfig } from './config.js';
export {
  chooseCopy, checkStorable, encodeCopy, encodedDataBytes, headerBytes, nextFlags, parseData, serializeData, splitCopy,
  OBSOLETE_FLAGS, type CopyIndex, type FlagScheme, type SplitCopy,
} from './codec.js';
export { applyChanges, decodeEnv, planWrite, sortVars, type EnvState, type PlannedWrite } from './state.js';
export { crc32 } from '../checksum/index.js';
export { FileRegion, nodeFileIo, type CopyStorage, type FileIo, type IoHandle } from './storage.js';
export { EmmcBootRegion, MtdNorRegion } from './devices.js';
export { bytesOfText, byteString, checkName, checkValue, isByteString, showBytes, textOfBytes } from './names.js';
export { parseEnvText, envVarsFromText, envChangesFromText, type EnvTextEntry } from './text.js';
