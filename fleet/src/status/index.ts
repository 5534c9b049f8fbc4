/**
 * The fleet's view of its devices: retained status documents, the status table.
 */
export { AVAILABILITY_FILTER, STATUS_FILTER, deviceOfTopic, parseStatus, versionOf, type DeviceReport, type LastUpdate } from './report.js';
export { StatusBoard, connectFleet, supersedes, type BoardEvents, type FleetMqttOptions, type ProtocolVersion } from './board.js';
export { deviceRows, formatTable, type DeviceRow } from './table.js';
