/**
 * Provisioning a device: its identity and config written onto the data
 * partition (`ota-agent provision`), and doctor's check of them.
 */
export { PROVISION_FILES, PROVISION_FILE_KEY, applyProvision, checkKeyPair, existingIdentity, planProvision } from './provision.js';
export type { ProvisionInput, ProvisionPlan, SourceFile } from './provision.js';
export { checkIdentity } from './check.js';
export type { IdentityVerdict } from './check.js';
export { FILE_FLAGS, readProvisioningFile } from './file.js';
export type { FileFlag } from './file.js';
