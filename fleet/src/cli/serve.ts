/**
 * `ota-fleet serve`: run the embedded broker (unless `--broker` names an external
 * one) and the artifact server until interrupted.
 */
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Register } from '../../../agent/src/cli/index.js';
import { serveArtifacts } from '../serve/index.js';
import { startBroker } from '../serve/index.js';

/** Registers `serve`. */
export const serveCommand: Register = (y, ctx) =>
  y.command(
    'serve',
    'run the embedded MQTT broker and the artifact server on 127.0.0.1',
    (b) => b
      .option('artifacts', { type: 'string', default: 'artifacts', describe: 'directory served over HTTP (Range, ETag)' })
      .option('port', { type: 'number', default: 8080, describe: 'HTTP port of the artifact server (0: any free port)' })
      .option('broker', { type: 'string', describe: 'URL of an external MQTT broker; no embedded broker is started' })
      .option('mqtt-port', { type: 'number', default: 1883, describe: 'port of the embedded MQTT broker (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' }),
    async (args) => {
      const artifacts = await serveArtifacts(resolve(ctx.cwd, args.artifacts), { host: args.host, port: args.port });
      const broker = args.broker === undefined ? await startBroker({ host: args.host, port: args['mqtt-port'] }) : undefined;
      ctx.stdout.write(`artifacts: ${artifacts.url} (from ${args.artifacts})\n`);
      ctx.stdout.write(`broker: ${broker?.url ?? `${args.broker ?? ''} (external)`}\n`);
      if (ctx.signal !== undefined && !ctx.signal.aborted) await once(ctx.signal, 'abort');
      await artifacts.close();
      await broker?.close();
    },
  );
