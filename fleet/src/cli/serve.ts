/**
 * `ota-fleet serve`: run the embedded broker (unless `--broker` names an external
 * one) and the artifact server until interrupted, and keep the registry (SQLite
 * in --state-dir unless --database names PostgreSQL) up to date from every
 * device's status document.
 */
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Register } from '../../../agent/src/cli/index.js';
import { serveArtifacts } from '../serve/index.js';
import { startBroker } from '../serve/index.js';
import { StatusBoard, connectFleet, feedRegistry } from '../status/index.js';
import { protocolArg } from './status.js';
import { registryOptions, withRegistry } from './registry.js';

/** Registers `serve`. */
export const serveCommand: Register = (y, ctx) =>
  y.command(
    'serve',
    'run the embedded MQTT broker and the artifact server on 127.0.0.1, and keep the device registry from their status documents',
    (b) => registryOptions(b)
      .option('artifacts', { type: 'string', default: 'artifacts', describe: 'directory served over HTTP (Range, ETag)' })
      .option('port', { type: 'number', default: 8080, describe: 'HTTP port of the artifact server (0: any free port)' })
      .option('broker', { type: 'string', describe: 'URL of an external MQTT broker; no embedded broker is started' })
      .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level the registry\'s ingest speaks to the broker: 4 (3.1.1) or 5' })
      .option('mqtt-port', { type: 'number', default: 1883, describe: 'port of the embedded MQTT broker (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' }),
    async (args) => withRegistry(ctx, args, async (registry) => {
      const artifacts = await serveArtifacts(resolve(ctx.cwd, args.artifacts), { host: args.host, port: args.port });
      const broker = args.broker === undefined ? await startBroker({ host: args.host, port: args['mqtt-port'] }) : undefined;
      const url = broker?.url ?? args.broker ?? '';
      const client = await connectFleet({ url, protocolVersion: protocolArg(args['protocol-version']), clientIdPrefix: 'ota-fleet-serve' });
      const feed = feedRegistry(await StatusBoard.attach(client), registry, () => ctx.now().getTime(), (l) => ctx.stderr.write(`ota-fleet: ${l}\n`));
      ctx.stdout.write(`artifacts: ${artifacts.url} (from ${args.artifacts})\n`);
      ctx.stdout.write(`broker: ${broker?.url ?? `${args.broker ?? ''} (external)`}\n`);
      ctx.stdout.write(`registry: ${registry.describe}\n`);
      if (ctx.signal !== undefined && !ctx.signal.aborted) await once(ctx.signal, 'abort');
      await feed.stop();
      await client.endAsync();
      await artifacts.close();
      await broker?.close();
    }),
  );
