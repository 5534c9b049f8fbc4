/**
 * A device transport in a child process (for the LWT test, which kills it):
 * node transport-child.js URL DEVICE_ID. Prints `connected` once connected.
 */
import { writeSync } from 'node:fs';
import { parseTransportConfig, Transport } from '../../agent/src/transport/index.js';

const [url, deviceId] = process.argv.slice(2);
const transport = new Transport(parseTransportConfig({ url, deviceId, hardware: 'test-board' }));
transport.on('state', (s) => { if (s.kind === 'connected') writeSync(1, 'connected\n'); });
transport.start();
