/**
 * Files and devices as storage: identity (device and inode, or `st_rdev`), real
 * size (files and block devices), the mounts a device backs, and the one
 * capped reader every size-limited read goes through.
 */
export { devNumber, fileIdentity, identityOf, sameStorage, type FileIdentity } from './identity.js';
export { DEFAULT_SYSFS_ROOT, probeEnd, realSizeBytes } from './size.js';
export { DEFAULT_MOUNTINFO_PATH, mountPointsOf, mountsByDevice } from './mounts.js';
export { readBounded, tooLarge, type Oversize } from './bounded.js';
export { prepareDataDir } from './datadir.js';
