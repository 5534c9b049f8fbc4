/**
 * `ota-agent verify NOTICE|FILE.ota --root ROOT_JSON --hardware HW [--installed-version N] [--now ISO_TIME]`:
 * decide on a notice as the agent would, from files and flags only. Prints one
 * acceptance line (exit 0) or the refusal with its typed reason (exit 1).
 * A bundle's artifacts are then checked against the verified notice. Writes nothing.
 */
import { resolve } from 'node:path';
import { printJson, type Register } from './framework.js';
import { METADATA_LIMITS, checkChannelName, formatUtcTime, releaseArtifacts, releaseLabel, type ImageDigest } from '../formats/index.js';
import { parseTimeArg, parseUintArg, readCapped, releaseSource } from './args.js';
import { AGENT_BUILD_TIME_MS } from '../trust/index.js';
import { loadRoot } from '../trust/index.js';
import { verifyNotice, type Accepted } from '../trust/index.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** What `verify --json` prints (docs/cli.md). */
export function acceptedJson(a: Accepted, hardwareId: string): Record<string, unknown> {
  const art = a.artifact;
  return {
    accepted: true, hardware: hardwareId,
    release: { version: a.release.version, name: a.release.name ?? null, expires: formatUtcTime(a.release.expiresMs) },
    rollout: { version: a.rollout.version, expires: formatUtcTime(a.rollout.expiresMs) },
    root: { version: a.trusted.root.version, expires: formatUtcTime(a.trusted.root.expiresMs) },
    artifact: { path: art.path, kind: 'base' in art ? 'delta' : 'full', format: art.format, sizeBytes: art.sizeBytes, sha256: art.sha256, ...('base' in art ? { base: art.base } : {}) },
  };
}

/** The one-line acceptance `verify` prints. */
export function describeAccepted(a: Accepted, hardwareId: string): string {
  const art = a.artifact;
  const kind = 'base' in art ? `delta from ${art.base.sha256.slice(0, 12)}` : 'full image';
  return `accepted: ${releaseLabel(a.release)} for ${hardwareId} (rollout ${a.rollout.version}, root v${a.trusted.root.version}): `
    + `${kind} ${art.path}, ${art.sizeBytes} bytes, sha256 ${art.sha256}`;
}

type VerifyArgs = { [K in 'installed-version' | 'rollout-version' | 'switch-counter' | 'current-size' | 'now' | 'time-floor' | 'current-sha256']?: string | undefined };

/** What is wrong with the flags of `verify`, or undefined. */
function argProblem(a: VerifyArgs): string | undefined {
  for (const k of ['installed-version', 'rollout-version', 'switch-counter', 'current-size'] as const) {
    const v = a[k];
    if (v !== undefined && parseUintArg(v) === undefined) return `--${k} must be a whole number 0..2^53-1, got ${JSON.stringify(v)}`;
  }
  for (const k of ['now', 'time-floor'] as const) {
    const v = a[k];
    if (v !== undefined && parseTimeArg(v) === undefined) return `--${k} must be an ISO 8601 time, got ${JSON.stringify(v)}`;
  }
  if ((a['current-sha256'] === undefined) !== (a['current-size'] === undefined)) return '--current-sha256 and --current-size go together';
  if (a['current-sha256'] !== undefined && !HEX64.test(a['current-sha256'])) return '--current-sha256 must be 64 lowercase hex digits';
  return undefined;
}

/** Registers `verify`. */
export const verifyCommand: Register = (y, ctx) =>
  y.command('verify <notice>', 'verify a notice against a root, as the agent would (writes nothing)', (b) => b
    .positional('notice', { type: 'string', demandOption: true, describe: 'a release directory (ota-fleet release --out), as install takes, a notice file (the MQTT payload bytes), or an .ota bundle (notice and artifacts)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
    .option('root', { type: 'string', demandOption: true, describe: 'trusted root metadata (root.json)' })
    .option('hardware', { type: 'string', demandOption: true, describe: 'this device\'s hardware id' })
    .option('installed-version', { type: 'string', default: '0', describe: 'highest version installed (anti-rollback floor)' })
    .option('now', { type: 'string', describe: 'the clock, ISO 8601 (default: now)' })
    .option('device-id', { type: 'string', describe: 'this device\'s id (targeting)' })
    .option('cohort', { type: 'string', describe: 'this device\'s cohort (targeting)' })
    .option('channel', { type: 'string', describe: 'the release channel the device follows (default: stable)' })
    .option('switch-counter', { type: 'string', default: '0', describe: 'highest channel switch counter already accepted' })
    .option('rollout-version', { type: 'string', default: '0', describe: 'highest rollout version already accepted' })
    .option('time-floor', { type: 'string', describe: 'latest signed time seen, ISO 8601' })
    .option('current-sha256', { type: 'string', describe: 'sha256 of the active slot image (selects a delta)' })
    .option('current-size', { type: 'string', describe: 'size in bytes of the active slot image' })
    .option('artifact', { type: 'string', describe: 'path of the artifact to install (checked against the slot)' })
    .check((a) => argProblem(a) ?? true),
  async (a) => {
    // The frame's fail hook records a usage error but yargs still calls the handler: do nothing then (exit 2).
    if (argProblem(a) !== undefined) return;
    const rootFile = resolve(ctx.cwd, a.root);
    const trusted = loadRoot(await readCapped(rootFile, METADATA_LIMITS.maxBytes), rootFile);
    const { notice, source, bundle } = await releaseSource(ctx.cwd, a.notice);
    const current: ImageDigest | undefined = a['current-sha256'] === undefined ? undefined
      : { sha256: a['current-sha256'], sizeBytes: parseUintArg(a['current-size'] ?? '') ?? 0 };
    const accepted = verifyNotice({
      notice,
      state: {
        trusted,
        installedVersion: parseUintArg(a['installed-version']) ?? 0,
        rolloutVersion: parseUintArg(a['rollout-version']) ?? 0,
        timeFloorMs: a['time-floor'] === undefined ? 0 : parseTimeArg(a['time-floor']) ?? 0,
        failedVersions: [],
        switchCounter: parseUintArg(a['switch-counter']) ?? 0,
      },
      device: {
        hardwareId: a.hardware, ...(a['device-id'] === undefined ? {} : { deviceId: a['device-id'] }), ...(a.cohort === undefined ? {} : { cohort: a.cohort }),
        ...(a.channel === undefined ? {} : { channel: checkChannelName(a.channel, 'verify --channel') }),
      },
      nowMs: a.now === undefined ? ctx.now().getTime() : parseTimeArg(a.now) ?? 0,
      buildTimeMs: AGENT_BUILD_TIME_MS,
      ...(current === undefined ? {} : { current }),
      ...(a.artifact === undefined ? {} : { artifactPath: a.artifact }),
    });
    // A bundle's artifacts are checked only once its notice is verified, every segment against its signed hash.
    const artifacts = releaseArtifacts(accepted.release);
    if (bundle) await source.verifyAll(artifacts, ctx.signal ?? new AbortController().signal);
    if (a.json) printJson(ctx, { ...acceptedJson(accepted, a.hardware), ...(bundle ? { bundle: { artifacts: artifacts.length, verified: true } } : {}) });
    else {
      ctx.stdout.write(`${describeAccepted(accepted, a.hardware)}\n`);
      if (bundle) ctx.stdout.write(`bundle: ${artifacts.length} artifact(s), every segment matches its signed sha256\n`);
    }
  });
