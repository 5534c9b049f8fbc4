/**
 * `ota-fleet channel switch --keys KEYS --release DIR --to NAME (--device ID | --group COHORT)... [--expires 1d]
 * --out NOTICE [--broker URL]`: sign a channel switch (rollout role) and the notice that carries it out
 * (the target channel's current release, DIR); with --broker, send it to each --device's notice topic.
 */
import { resolve } from 'node:path';
import { printJson, type Register } from '../../../agent/src/cli/index.js';
import { writeFileAtomic } from '../../../agent/src/durable/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { checkChannelName } from '../../../agent/src/formats/index.js';
import { topicsFor } from '../../../agent/src/transport/index.js';
import { parseDurationMs } from '../keys/index.js';
import { signChannelSwitch } from '../release/index.js';
import { publishNotice } from '../publish/index.js';
import { connectFleet } from '../status/index.js';
import { protocolArg } from './status.js';

/** Registers `channel switch`. */
export const channelCommand: Register = (y, ctx) =>
  y.command('channel', 'release channels: switch devices to another channel with a signed document', (c) => c
    .command('switch', 'sign a channel switch for devices or groups, carried out by the target channel\'s current release (installed even when older)', (b) => b
      .option('keys', { type: 'string', demandOption: true, describe: 'key directory (the rollout key signs)' })
      .option('release', { type: 'string', demandOption: true, describe: 'the target channel\'s current release directory (ota-fleet release --channel NAME --out DIR)' })
      .option('to', { type: 'string', demandOption: true, describe: 'the channel to switch to' })
      .option('device', { type: 'string', array: true, default: [] as string[], describe: 'device id to switch (repeatable)' })
      .option('group', { type: 'string', array: true, default: [] as string[], describe: 'cohort to switch (repeatable)' })
      .option('expires', { type: 'string', default: '1d', describe: 'how long the switch may wait for an offline device (at most 30d)' })
      .option('out', { type: 'string', demandOption: true, describe: 'notice file to write' })
      .option('broker', { type: 'string', describe: 'also send the notice to each --device\'s notice topic on this broker' })
      .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level: 4 (3.1.1, any broker) or 5' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
    async (a) => {
      const to = checkChannelName(a.to, 'channel switch --to'); // before a counter moves or a file is written
      const nowMs = ctx.now().getTime();
      const r = await signChannelSwitch(resolve(ctx.cwd, a.keys), {
        to, releaseDir: resolve(ctx.cwd, a.release), devices: a.device, cohorts: a.group, nowMs, expiresMs: nowMs + parseDurationMs(a.expires, '--expires'),
      });
      const out = resolve(ctx.cwd, a.out);
      await writeFileAtomic(out, r.notice);
      const topics = a.broker === undefined ? [] : a.device.map((d) => ({ topic: topicsFor(d, 'any').notice, retain: false }));
      if (a.broker !== undefined) {
        if (topics.length === 0) throw new OtaError('USAGE', `channel switch: --broker sends to --device notice topics; a --group switch was written to ${out}: deliver it to the group's devices`);
        const client = await connectFleet({ url: a.broker, protocolVersion: protocolArg(a['protocol-version']), clientIdPrefix: 'ota-fleet-channel' });
        try { await publishNotice(client, r.notice, topics); } finally { await client.endAsync(); }
      }
      if (a.json) printJson(ctx, { counter: r.counter, to, release: r.releaseVersion, rollout: r.rolloutVersion, notice: out, topics: topics.map((t) => t.topic) });
      else ctx.stdout.write(`signed channel switch ${r.counter} to ${to} (release ${r.releaseVersion}, rollout ${r.rolloutVersion}) into ${out}${topics.length === 0 ? '' : `; sent to ${topics.map((t) => t.topic).join(', ')}`}\n`);
    })
    .demandCommand(1, 'name a channel command: switch'));
