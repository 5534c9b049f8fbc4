/**
 * The fleet registry: devices as they report themselves, groups, and the history of every rollout,
 * on SQLite (the embedded default) or PostgreSQL, behind one interface.
 */
export type {
  AttributeMatch, DeviceDocument, DeviceFilter, DeviceRecord, GroupDefinition, GroupRecord, IngestOutcome, Registry,
  RolloutEvent, RolloutHistory, RolloutOutcome, RolloutRecord,
} from './types.js';
export { REGISTRY_FILE, isPostgresUrl, openRegistry } from './open.js';
export { ATTRIBUTE_KEY, MAX_ATTRIBUTE_CHARS, formatMatch, matchesAll, parseMatch, valueOf } from './filter.js';
export { GROUP_NAME } from './store.js';
export { MIGRATIONS } from './sql.js';
