/**
 * `ota-fleet group add|list|show|remove`: static groups (a list of devices) and dynamic ones (a filter on
 * the inventory, evaluated each time the group is read). `rollout start --group NAME` targets one.
 */
import type { Register } from '../../../agent/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { formatMatch, parseMatch, type GroupDefinition, type GroupRecord } from '../registry/index.js';
import { columns, registryOptions, when, withRegistry } from './registry.js';

function definitionOf(devices: string[] | undefined, attributes: string[] | undefined): GroupDefinition {
  const ids = (devices ?? []).flatMap((d) => d.split(',')).map((d) => d.trim()).filter((d) => d !== '');
  const match = (attributes ?? []).map(parseMatch);
  if ((ids.length > 0) === (match.length > 0)) throw new OtaError('USAGE', 'group add: give either --device ID,... (a static group) or --attribute KEY=VALUE... (a dynamic group), not both');
  return ids.length > 0 ? { kind: 'static', devices: ids } : { kind: 'dynamic', match };
}

function describeDefinition(g: GroupRecord): string {
  return g.definition.kind === 'static' ? `static: ${g.definition.devices.join(', ')}` : `dynamic: ${formatMatch(g.definition.match)}`;
}

/** Registers `group add|list|show|remove`. */
export const groupCommand: Register = (y, ctx) =>
  y.command('group', 'groups of devices a rollout can target: static (a list) or dynamic (attribute filters)', (b) => registryOptions(b)
    .command('add <name>', 'add or replace a group', (c) => c
      .positional('name', { type: 'string', demandOption: true, describe: 'group name' })
      .option('device', { type: 'string', array: true, describe: 'devices of a static group (ID,ID... or repeated)' })
      .option('attribute', { type: 'string', array: true, describe: 'KEY=VALUE every member matches (a dynamic group); repeatable' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const def = definitionOf(a.device, a.attribute);
      await reg.putGroup(a.name ?? '', def, ctx.now().getTime());
      const n = (await reg.groupMembers(a.name ?? '')).length;
      ctx.stdout.write(`group ${a.name ?? ''} (${def.kind}): ${n} device${n === 1 ? '' : 's'} in service now\n`);
    }))
    .command('list', 'every group with its definition and member count', (c) => c
      .option('json', { type: 'boolean', default: false, describe: 'print {"groups":[...]} with each group\'s members' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const groups = await reg.groups();
      const members = await Promise.all(groups.map((g) => reg.groupMembers(g.name)));
      if (a.json) ctx.stdout.write(`${JSON.stringify({ groups: groups.map((g, k) => ({ ...g, members: members[k] ?? [] })) })}\n`);
      else ctx.stdout.write(groups.length === 0 ? 'no group defined\n' : columns(['GROUP', 'MEMBERS', 'DEFINITION'], groups.map((g, k) => [g.name, String(members[k]?.length ?? 0), describeDefinition(g)])));
    }))
    .command('show <name>', 'a group\'s definition and its members now', (c) => c
      .positional('name', { type: 'string', demandOption: true, describe: 'group name' })
      .option('json', { type: 'boolean', default: false, describe: 'print the group and its members as JSON' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      const members = await reg.groupMembers(a.name ?? '');
      const g = await reg.group(a.name ?? '');
      if (g === undefined) return;
      if (a.json) ctx.stdout.write(`${JSON.stringify({ ...g, members })}\n`);
      else ctx.stdout.write(`group ${g.name}: ${describeDefinition(g)} (since ${when(g.createdMs)})\n${members.map((m) => `  ${m}\n`).join('')}${members.length} device${members.length === 1 ? '' : 's'} in service\n`);
    }))
    .command('remove <name>', 'remove a group (its devices stay; rollouts that targeted it keep their members)', (c) => c
      .positional('name', { type: 'string', demandOption: true, describe: 'group name' }),
    async (a) => withRegistry(ctx, a, async (reg) => {
      if (!await reg.removeGroup(a.name ?? '')) throw new OtaError('GROUP_UNKNOWN', `group ${a.name ?? ''}: no such group (ota-fleet group list)`);
      ctx.stdout.write(`removed group ${a.name ?? ''}\n`);
    }))
    .demandCommand(1, 'group: add, list, show or remove'));
