/**
 * MQTT transport: connection with our own full-jitter reconnect, retained status,
 * LWT, notices in (MQTT, and the HTTPS resync after every connect), the health
 * round-trip, and the topic layout (docs/mqtt.md).
 */
export { Transport } from './client.js';
export type { ConnectionState, NoticeMessage, RolloutResync, TransportDeps, TransportEvents } from './client.js';
export { parseTransportConfig } from './config.js';
export type { TransportConfig, TlsFiles } from './config.js';
export { statusDocument } from './status.js';
export type { LastUpdateStatus, RefusedNoticeStatus, StatusDocument, StatusFields } from './status.js';
export { rolloutTopic, topicsFor, TOPIC_ROOT } from './topics.js';
export { MAX_PACKET_BYTES, PacketSizeWatch } from './packets.js';
export { HttpRolloutResync, MAX_ROLLOUT_DOCUMENT_BYTES, nodeGet, rolloutDocumentPath } from './resync.js';
export type { HttpGet, HttpResyncOptions } from './resync.js';
export type { Topics } from './topics.js';
