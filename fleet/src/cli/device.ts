/**
 * `ota-fleet device list|show|remove|restore`: the devices as the registry holds them (what each reported
 * last), filtered by version, hardware, attribute or group; a removed (decommissioned) device leaves
 * lists, groups and rollout arithmetic, and the roster in the same state directory.
 */
import { join, resolve } from 'node:path';
import type { Register } from '../../../agent/src/cli/index.js';
import { parseUintArg } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { parseMatch, type DeviceFilter, type DeviceRecord } from '../registry/index.js';
import { ROSTER_FILE, forgetDevices, loadRoster, saveRoster } from '../status/index.js';
import { columns, registryOptions, when, withRegistry } from './registry.js';

type FilterArgs = { version: string | undefined; hardware: string | undefined; attribute: string[] | undefined; group: string | undefined; removed: boolean };

function filterOf(a: FilterArgs): DeviceFilter {
  const version = a.version === undefined ? undefined : parseUintArg(a.version);
  if (a.version !== undefined && version === undefined) throw new OtaError('USAGE', `--version must be a release version (a whole number), got ${JSON.stringify(a.version)}`);
  return {
    ...(version === undefined ? {} : { version }), ...(a.hardware === undefined ? {} : { hardware: a.hardware }),
    ...(a.group === undefined ? {} : { group: a.group }), attributes: (a.attribute ?? []).map(parseMatch), includeRemoved: a.removed,
  };
}

function versionText(d: DeviceRecord): string {
  return d.version === null ? 'unknown' : `${d.version}${d.name === null ? '' : ` (${d.name})`}`;
}

function listText(devices: readonly DeviceRecord[]): string {
  const rows = devices.map((d) => [d.deviceId, d.hardware ?? '?', versionText(d), d.phase, d.booted, d.agentVersion ?? '-', when(d.lastSeenMs),
    d.removedAtMs === null ? (d.lastError ?? '-') : `removed ${when(d.removedAtMs)}`]);
  return columns(['DEVICE', 'HARDWARE', 'VERSION', 'PHASE', 'BOOTED', 'AGENT', 'LAST SEEN', 'LAST ERROR'], rows) + `${devices.length} device${devices.length === 1 ? '' : 's'}\n`;
}

function showText(d: DeviceRecord): string {
  const pairs = (o: Readonly<Record<string, string>> | null): string => (o === null || Object.keys(o).length === 0 ? '-' : Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' '));
  return [
    `device ${d.deviceId}${d.removedAtMs === null ? '' : ` (removed ${when(d.removedAtMs)})`}`,
    `  hardware     ${d.hardware ?? '?'}`, `  release      ${versionText(d)}`, `  phase        ${d.phase}`,
    `  slots        ${pairs(d.slots)} (booted ${d.booted})`, `  agent        ${d.agentVersion ?? '-'}`, `  kernel       ${d.kernel ?? '-'}`,
    `  network      ${pairs(d.network)}`, `  attributes   ${pairs(d.attributes)}`,
    `  last update  ${d.lastOutcome === null ? '-' : `${d.lastOutcome} (release ${d.lastOutcomeVersion ?? '?'})`}`, `  last error   ${d.lastError ?? '-'}`,
    `  last seen    ${when(d.lastSeenMs)} (boot ${d.bootId}, document ${d.seq}, device clock ${d.reportedAt}); first seen ${when(d.firstSeenMs)}`, '',
  ].join('\n');
}

/** Registers `device list|show|remove|restore`. */
export const deviceCommand: Register = (y, ctx) =>
  y.command('device', 'the devices in the registry: list (with filters), show, remove (decommission), restore', (b) => registryOptions(b)
    .command('list', 'one line per device in service (filters combine)', (c) => c
      .option('version', { type: 'string', describe: 'only devices on this release version' })
      .option('hardware', { type: 'string', describe: 'only devices of this hardware' })
      .option('attribute', { type: 'string', array: true, describe: 'KEY=VALUE on a reported attribute or a field (hardware, version, name, agentVersion, kernel, phase, booted); repeatable' })
      .option('group', { type: 'string', describe: 'only the members of this group' })
      .option('removed', { type: 'boolean', default: false, describe: 'include removed devices' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"devices":[...]}' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const devices = await reg.devices(filterOf(a));
      ctx.stdout.write(a.json ? `${JSON.stringify({ devices })}\n` : listText(devices));
    }))
    .command('show <id>', 'everything the registry holds of one device', (c) => c
      .positional('id', { type: 'string', demandOption: true, describe: 'device id' })
      .option('json', { type: 'boolean', default: false, describe: 'print the device as JSON' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const d = await reg.device(a.id ?? '');
      if (d === undefined) throw new OtaError('DEVICE_UNKNOWN', `device ${a.id ?? ''}: not in the registry ${reg.describe}: check the id (ota-fleet device list), or that ota-fleet serve or a rollout has seen it`);
      ctx.stdout.write(a.json ? `${JSON.stringify(d)}\n` : showText(d));
    }))
    .command('remove <ids..>', 'decommission devices: they leave lists, groups, the roster and rollouts; their documents are ignored until restored', (c) => c
      .positional('ids', { type: 'string', array: true, demandOption: true, describe: 'device ids' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const ids = a.ids ?? [];
      const unknown: string[] = [];
      for (const id of ids) if (!await reg.removeDevice(id, ctx.now().getTime())) unknown.push(id);
      const rosterFile = join(resolve(ctx.cwd, a['state-dir']), ROSTER_FILE);
      const roster = forgetDevices(await loadRoster(rosterFile), ids);
      if (roster.unknown.length < ids.length) await saveRoster(rosterFile, roster.roster);
      if (unknown.length > 0) throw new OtaError('DEVICE_UNKNOWN', `device remove: ${unknown.join(', ')} not in the registry ${reg.describe} (ota-fleet device list); the others are removed`);
      ctx.stdout.write(`removed ${ids.length} device${ids.length === 1 ? '' : 's'} from service\n`);
    }))
    .command('restore <ids..>', 'put removed devices back in service (their next status document is taken)', (c) => c
      .positional('ids', { type: 'string', array: true, demandOption: true, describe: 'device ids' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const unknown: string[] = [];
      for (const id of a.ids ?? []) if (!await reg.restoreDevice(id)) unknown.push(id);
      if (unknown.length > 0) throw new OtaError('DEVICE_UNKNOWN', `device restore: ${unknown.join(', ')} not in the registry ${reg.describe}`);
      ctx.stdout.write(`restored ${(a.ids ?? []).length} device${(a.ids ?? []).length === 1 ? '' : 's'}\n`);
    }))
    .demandCommand(1, 'device: list, show, remove or restore'));
