/**
 * `ota-fleet status [--json] --broker URL`: every device's retained status
 * document (version, phase, progress, booted slot, last error) and availability,
 * checked against the roster of the devices ever seen (exit 1 when some did not
 * answer), and a warning for each retained rollout document (or its release) near
 * its expiry (status/expiry.ts); `ota-fleet roster list|forget`: that roster.
 */
import { resolve } from 'node:path';
import type { Register, SetExit } from '../../../agent/src/cli/index.js';
import { EXIT_FAILURE } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { checkChannelName } from '../../../agent/src/formats/index.js';
import {
  ROSTER_FILE, connectFleet, describeCheck, expiryWarnings, forgetDevices, incompleteView, loadRoster, observeFleet, rootWarning, saveRoster, watchRolloutDocuments, type ProtocolVersion,
} from '../status/index.js';
import { deviceRows, formatTable } from '../status/index.js';

/** `--protocol-version` as the fleet tools read it. */
export function protocolArg(value: number): ProtocolVersion {
  if (value === 4 || value === 5) return value;
  throw new OtaError('USAGE', `--protocol-version must be 4 (MQTT 3.1.1) or 5, got ${value}`);
}

const rosterDescription = `the roster of the devices ever seen (default ${ROSTER_FILE}, as beside rollout --state): the view is checked against it and it is updated from it`;

/** Registers `status`. */
export const statusCommand: Register = (y, ctx, setExit: SetExit) =>
  y.command('status', 'print every device\'s retained status (version, phase, progress, booted slot, last error); exit 1 when devices of the roster gave none', (b) => b
    .option('broker', { type: 'string', demandOption: true, describe: 'MQTT broker URL, e.g. mqtt://127.0.0.1:1883' })
    .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level: 4 (3.1.1, any broker) or 5' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON (one array of devices)' })
    .option('channel', { type: 'string', describe: 'only the devices following this release channel (rows are grouped by channel)' })
    .option('roster', { type: 'string', default: ROSTER_FILE, describe: rosterDescription })
    .option('wait-ms', { type: 'number', default: 500, describe: 'quiet time that ends the retained documents' }),
  async (a) => {
    const channel = a.channel === undefined ? undefined : checkChannelName(a.channel, 'status --channel');
    const client = await connectFleet({ url: a.broker, protocolVersion: protocolArg(a['protocol-version']), clientIdPrefix: 'ota-fleet-status' });
    try {
      const rollouts = await watchRolloutDocuments(client);
      const view = await observeFleet(client, { rosterFile: resolve(ctx.cwd, a.roster), settleMs: a['wait-ms'] });
      const rows = deviceRows(view.board.reports, view.board.online, view.board.problems, channel);
      ctx.stdout.write(a.json ? `${JSON.stringify(rows)}\n` : `${formatTable(rows)}${describeCheck(view.check)} (roster ${a.roster})\n`);
      const root = rootWarning(view.board.reports.values(), ctx.now().getTime());
      for (const w of [...expiryWarnings(rollouts, ctx.now().getTime()), ...(root === undefined ? [] : [root])]) ctx.stderr.write(`ota-fleet: warning: ${w}\n`);
      if (view.check.missing.length > 0) {
        ctx.stderr.write(`ota-fleet: ${incompleteView(view.check, a.roster, 'status').message} [FLEET_VIEW_INCOMPLETE]\n`);
        setExit(EXIT_FAILURE);
      }
    } finally {
      await client.endAsync();
    }
  });

/** Registers `roster list|forget`. */
export const rosterCommand: Register = (y, ctx) =>
  y.command('roster', 'the devices ever seen, which status and rollout check their view against', (b) => b
    .option('roster', { type: 'string', default: ROSTER_FILE, describe: rosterDescription })
    .command('list', 'print the roster: device, hardware, last status seen', (c) => c, async (a) => {
      const roster = await loadRoster(resolve(ctx.cwd, a.roster));
      const ids = Object.keys(roster).sort();
      ctx.stdout.write(ids.map((id) => `${id}  ${roster[id]?.hardware ?? '?'}  ${roster[id]?.lastSeen ?? '?'}\n`).join('') + `${ids.length} device${ids.length === 1 ? '' : 's'}\n`);
    })
    .command('forget <ids..>', 'remove retired devices from the roster (a device that reports again is noted again)', (c) => c
      .positional('ids', { type: 'string', array: true, demandOption: true, describe: 'device ids' }),
    async (a) => {
      const file = resolve(ctx.cwd, a.roster);
      const { roster, unknown } = forgetDevices(await loadRoster(file), a.ids ?? []);
      if (unknown.length > 0) throw new OtaError('USAGE', `roster forget: ${unknown.join(', ')} not in ${a.roster} (ota-fleet roster list)`);
      await saveRoster(file, roster);
      ctx.stdout.write(`forgot ${(a.ids ?? []).length} device${(a.ids ?? []).length === 1 ? '' : 's'}; ${Object.keys(roster).length} left in ${a.roster}\n`);
    })
    .demandCommand(1, 'roster: list or forget'));
