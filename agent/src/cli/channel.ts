/**
 * `ota-agent channel` (show the release channel the device follows) and `ota-agent channel set NAME`:
 * the device's owner moves it to another channel. A local set never lowers the anti-rollback floor:
 * the new channel installs only releases above the one installed now (going back to an older release
 * takes the operator's signed switch, `ota-fleet channel switch`). Like `install`, `set` takes the device lock,
 * so it runs while the daemon is stopped (`systemctl stop ota-agent`); started again, the daemon listens on the
 * new channel. docs/trust.md, "Release channels".
 */
import type { CliContext, Register } from './framework.js';
import { checkChannelName } from '../formats/index.js';
import { followedChannel } from '../trust/index.js';
import { globalArgs, openFromArgs, withDevice } from './device.js';

async function show(ctx: CliContext, a: { readonly [key: string]: unknown }): Promise<void> {
  const o = await openFromArgs(ctx, globalArgs(a), 'read');
  ctx.stdout.write(`${await o.device.trust.channel()}\n`);
}

async function set(ctx: CliContext, a: { readonly [key: string]: unknown }, name: string): Promise<void> {
  const to = checkChannelName(name, 'ota-agent channel set'); // before the device is opened: a bad name writes nothing
  await withDevice(ctx, globalArgs(a), 'channel set', async (o) => {
    const from = await o.device.trust.channel();
    const state = await o.device.trust.setChannel(to);
    const now = followedChannel(state, o.config.channel);
    ctx.stdout.write(from === now
      ? `channel: already following ${now}\n`
      : `channel: following ${now} (was ${from}); only a release above ${state.installedVersion} installs on it; the daemon listens on it from its next start\n`);
  });
}

/** Registers `channel` and `channel set NAME`. */
export const channelCommand: Register = (y, ctx) =>
  y.command('channel', 'the release channel this device follows (channel set NAME: follow another)', (c) => c
    .command('$0', 'print the channel followed', (b) => b, (a) => show(ctx, a))
    .command('set <name>', 'follow another release channel (never installs a release below the one installed now: that takes a signed switch)', (b) => b
      .positional('name', { type: 'string', demandOption: true, describe: 'channel name (e.g. stable, next)' }),
    (a) => set(ctx, a, a.name)));
