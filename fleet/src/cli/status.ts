/**
 * `ota-fleet status [--json] --broker URL`: every device's retained status
 * document (version, phase, progress, booted slot, last error) and availability.
 */
import type { Register } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { StatusBoard, connectFleet, type ProtocolVersion } from '../status/index.js';
import { deviceRows, formatTable } from '../status/index.js';

/** `--protocol-version` as the fleet tools read it. */
export function protocolArg(value: number): ProtocolVersion {
  if (value === 4 || value === 5) return value;
  throw new OtaError('USAGE', `--protocol-version must be 4 (MQTT 3.1.1) or 5, got ${value}`);
}

/** Registers `status`. */
export const statusCommand: Register = (y, ctx) =>
  y.command('status', 'print every device\'s retained status (version, phase, progress, booted slot, last error)', (b) => b
    .option('broker', { type: 'string', demandOption: true, describe: 'MQTT broker URL, e.g. mqtt://127.0.0.1:1883' })
    .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level: 4 (3.1.1, any broker) or 5' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON (one array of devices)' })
    .option('wait-ms', { type: 'number', default: 500, describe: 'quiet time that ends the retained documents' }),
  async (a) => {
    const client = await connectFleet({ url: a.broker, protocolVersion: protocolArg(a['protocol-version']), clientIdPrefix: 'ota-fleet-status' });
    try {
      const board = await StatusBoard.attach(client);
      await board.settled(a['wait-ms']);
      const rows = deviceRows(board.reports, board.online, board.problems);
      ctx.stdout.write(a.json ? `${JSON.stringify(rows)}\n` : formatTable(rows));
    } finally {
      await client.endAsync();
    }
  });
