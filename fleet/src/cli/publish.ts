/**
 * `ota-fleet publish --release DIR --broker URL --artifacts-url URL [--copy-to DIR] [--all | --device ID...]`:
 * publishing serves and checks the artifacts and targets nobody; only `--all`
 * (the release's own signed rollout, retained) or `--device` chooses devices.
 * A staged rollout (`ota-fleet rollout start`) is the usual next step.
 */
import { resolve } from 'node:path';
import { printJson, type Register } from '../../../agent/src/cli/index.js';
import { releaseLabel } from '../../../agent/src/formats/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { connectFleet } from '../status/index.js';
import { protocolArg } from './status.js';
import { Progress } from '../release/index.js';
import { checkArtifacts, copyArtifacts, noticeChannel, noticeTopics, publishNotice, readReleaseDir, serveRolloutDocument } from '../publish/index.js';

/** Registers `publish`. */
export const publishCommand: Register = (y, ctx) =>
  y.command('publish', 'copy the release\'s artifacts where devices fetch them and check them over HTTP; targets no device unless --all or --device', (b) => b
    .option('release', { type: 'string', demandOption: true, describe: 'release directory (ota-fleet release --out)' })
    .option('broker', { type: 'string', describe: 'MQTT broker URL (needed with --all or --device)' })
    .option('artifacts-url', { type: 'string', demandOption: true, describe: 'base URL devices fetch artifacts from (one of their artifacts.urls)' })
    .option('copy-to', { type: 'string', describe: 'copy the artifacts into this served directory first (e.g. ota-fleet serve --artifacts); with --all, also write the notice there as rollout/<hardware>.json for the devices\' HTTPS resync' })
    .option('all', { type: 'boolean', default: false, describe: 'also publish the release\'s own signed rollout (as signed by ota-fleet release: every device unless narrowed) retained on the rollout topic, now' })
    .option('device', { type: 'string', array: true, default: [] as string[], describe: 'also send the release\'s notice to these devices\' notice topics (not retained)' })
    .option('protocol-version', { type: 'number', default: 4, describe: 'MQTT level: 4 (3.1.1, any broker) or 5' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
  async (a) => {
    if (a.all && a.device.length > 0) throw new OtaError('USAGE', 'publish: --all and --device both choose devices: pass one of them');
    const broker = a.broker;
    if ((a.all || a.device.length > 0) && broker === undefined) throw new OtaError('USAGE', `publish: --${a.all ? 'all' : 'device'} needs --broker URL to publish on`);
    const dir = resolve(ctx.cwd, a.release);
    const { release, notice } = await readReleaseDir(dir);
    const say = (line: string): void => { if (!a.json) ctx.stdout.write(`${line}\n`); };
    const copied = a['copy-to'] === undefined ? 0 : await copyArtifacts(dir, release, resolve(ctx.cwd, a['copy-to']), new Progress(ctx.stderr));
    if (a['copy-to'] !== undefined) say(`copied ${copied} artifact${copied === 1 ? '' : 's'} to ${a['copy-to']}`);
    await checkArtifacts(release, a['artifacts-url'], ctx.signal);
    // What --json prints (docs/cli.md); `topics` is empty when no device was targeted.
    const result = (topics: readonly string[], served: readonly string[]) => ({
      release: { version: release.version, name: release.name ?? null }, artifactsUrl: a['artifacts-url'], artifactsChecked: true, copied,
      targeted: a.all ? 'all' : a.device.length > 0 ? 'devices' : 'none', topics, served,
    });
    if (broker === undefined || (!a.all && a.device.length === 0)) {
      if (a.json) printJson(ctx, result([], []));
      say(`${releaseLabel(release)}: artifacts served at ${a['artifacts-url']} (checked); no device targeted: stage a rollout with ota-fleet rollout start ${a.release}, or publish --all`);
      return;
    }
    const topics = noticeTopics(release, a.device, noticeChannel(notice));
    const client = await connectFleet({ url: broker, protocolVersion: protocolArg(a['protocol-version']), clientIdPrefix: 'ota-fleet-publish' });
    let served: string[] = [];
    try {
      // The served copy first: a device that sees the retained notice and then reconnects finds the same document there.
      if (a['copy-to'] !== undefined && a.device.length === 0) {
        served = await serveRolloutDocument(resolve(ctx.cwd, a['copy-to']), release.hardware, notice, noticeChannel(notice));
        say(`wrote ${served.join(', ')} in ${a['copy-to']}`);
      }
      await publishNotice(client, notice, topics);
    } finally {
      await client.endAsync();
    }
    if (a.json) printJson(ctx, result(topics.map((t) => t.topic), served));
    say(`published ${releaseLabel(release)} (${notice.byteLength} bytes) on ${topics.map((t) => t.topic).join(', ')}; artifacts served at ${a['artifacts-url']}`);
  });
