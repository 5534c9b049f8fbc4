/**
 * `ota-fleet publish --release DIR --broker URL --artifacts-url URL [--copy-to DIR] [--device ID]...`
 */
import { resolve } from 'node:path';
import type { Register } from '../../../agent/src/cli/index.js';
import { connectFleet } from '../status/index.js';
import { protocolArg } from './status.js';
import { checkArtifacts, copyArtifacts, noticeTopics, publishNotice, readReleaseDir, serveRolloutDocument } from '../publish/index.js';

/** Registers `publish`. */
export const publishCommand: Register = (y, ctx) =>
  y.command('publish', 'check the artifacts are served, then publish the release\'s signed notice (retained on the rollout topic)', (b) => b
    .option('release', { type: 'string', demandOption: true, describe: 'release directory (ota-fleet release --out)' })
    .option('broker', { type: 'string', demandOption: true, describe: 'MQTT broker URL' })
    .option('artifacts-url', { type: 'string', demandOption: true, describe: 'base URL devices fetch artifacts from (one of their artifacts.urls)' })
    .option('copy-to', { type: 'string', describe: 'copy the artifacts into this served directory first (e.g. ota-fleet serve --artifacts), and write the notice there as rollout/<hardware>.json for the devices\' HTTPS resync' })
    .option('device', { type: 'string', array: true, default: [] as string[], describe: 'send to these devices\' notice topics instead (not retained)' })
    .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level: 4 (3.1.1, any broker) or 5' }),
  async (a) => {
    const dir = resolve(ctx.cwd, a.release);
    const { release, notice } = await readReleaseDir(dir);
    if (a['copy-to'] !== undefined) {
      const n = await copyArtifacts(dir, release, resolve(ctx.cwd, a['copy-to']));
      ctx.stdout.write(`copied ${n} artifact${n === 1 ? '' : 's'} to ${a['copy-to']}\n`);
    }
    await checkArtifacts(release, a['artifacts-url'], ctx.signal);
    const topics = noticeTopics(release, a.device);
    const client = await connectFleet({ url: a.broker, protocolVersion: protocolArg(a['protocol-version']), clientIdPrefix: 'ota-fleet-publish' });
    try {
      // The served copy first: a device that sees the retained notice and then reconnects finds the same document there.
      if (a['copy-to'] !== undefined && a.device.length === 0) {
        const paths = await serveRolloutDocument(resolve(ctx.cwd, a['copy-to']), release.hardware, notice);
        ctx.stdout.write(`wrote ${paths.join(', ')} in ${a['copy-to']}\n`);
      }
      await publishNotice(client, notice, topics);
    } finally {
      await client.endAsync();
    }
    ctx.stdout.write(`published release ${release.version} (${notice.byteLength} bytes) on ${topics.map((t) => t.topic).join(', ')}; artifacts served at ${a['artifacts-url']}\n`);
  });
