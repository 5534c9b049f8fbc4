/**
 * The embedded MQTT broker of the local default: aedes on a TCP port of
 * 127.0.0.1. Fleets in production point devices at any MQTT 5 broker.
 */
import aedes from 'aedes';
import { createServer, type AddressInfo } from 'node:net';

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** `mqtt://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Start an aedes broker on `host:port` (port 0 picks a free one). */
export async function startBroker(options: { host?: string; port?: number } = {}): Promise<EmbeddedBroker> {
  const broker = aedes.createBroker();
  const server = createServer(broker.handle);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `mqtt://${address}:${port}`,
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
