/**
 * The fleet's view of its devices: retained status documents, the roster they are checked against, the status table.
 */
export { AVAILABILITY_FILTER, STATUS_FILTER, deviceOfTopic, parseStatus, versionOf, type DeviceReport, type LastUpdate } from './report.js';
export { StatusBoard, connectFleet, supersedes, type BoardEvents, type FleetMqttOptions, type ProtocolVersion } from './board.js';
export { deviceRows, formatTable, type DeviceRow } from './table.js';
export { ROSTER_FILE, checkView, forgetDevices, incompleteView, loadRoster, noteReports, saveRoster, type Roster, type RosterEntry, type ViewCheck } from './roster.js';
export { describeCheck, noteRoster, observeFleet, type FleetView, type ViewOptions } from './view.js';
export { NEAR_EXPIRY_FRACTION, ROLLOUT_FILTER, expiryWarnings, lifeWarning, rootWarning, watchRolloutDocuments } from './expiry.js';
export { documentOf, readInventory, type Inventory } from './inventory.js';
export { feedRegistry, type RegistryFeed } from './feed.js';
