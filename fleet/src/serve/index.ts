/**
 * The embedded default for one machine: an MQTT broker and an artifact server on 127.0.0.1.
 */
export { serveArtifacts, parseRange, type ArtifactServer, type ByteRange } from './artifacts.js';
export { startBroker, type EmbeddedBroker } from './broker.js';
