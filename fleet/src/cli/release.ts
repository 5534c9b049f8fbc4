/**
 * `ota-fleet release --image IMG --version N --hardware HW [--from OLD.img]... [--delta FILE@BASE]... [--boot-script boot.scr] --keys KEYS --out DIR [--bundle FILE.ota] [--expires 30d]`:
 * put the full image into DIR/targets (compressed unless --full-image raw) with one delta per base (made here from each --from
 * base, or given ready-made with --delta), sign DIR/release.json,
 * and sign a rollout to every device (unless --device/--cohort narrow it) into
 * DIR/rollout.json and DIR/notice.json, the exact bytes an MQTT notice carries; --bundle also writes them and
 * the artifacts as one .ota file (release/bundle.ts).
 * `ota-fleet rollout --release DIR --keys KEYS [--device ID]... [--cohort C]...`
 * signs a new rollout of an existing release; its subcommands (start, run, status,
 * pause, resume, abort) are the staged-rollout controller's (rollout.ts here).
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { printJson, type CliContext, type Register } from '../../../agent/src/cli/index.js';
import { OtaError, withContext } from '../../../agent/src/errors/index.js';
import { checkImageSize } from '../../../agent/src/slots/index.js';
import { readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import { RAW_FORMAT, checkChannelName, RELEASE_NAME, RELEASE_NAME_MAX, canonicalBytes, formatUtcTime, releaseLabel, readEnvelope, readRelease, type ImageDigest, type JsonObject } from '../../../agent/src/formats/index.js';
import { parseUintArg } from '../../../agent/src/cli/index.js';
import { loadCurrentRoot, parseDurationMs, roleKeys } from '../keys/index.js';
import { DEFAULT_SEGMENT_BYTES, addArtifact, artifactJson, hashFile } from '../release/index.js';
import { addCompressedImage, addDeltas, planDeltas, type DeltaSource } from '../release/index.js';
import { Progress, addBootScript, addEtcManifest, checkBundleTarget, readBootScript, writeBundle } from '../release/index.js';
import { rolloutSigned, signRelease, type RolloutSpec } from '../release/index.js';
import { writeRollout, type RolloutOptions } from '../release/index.js';
import { rolloutControlCommands } from './rollout.js';

function targetOptions<T>(b: Argv<T>) {
  return b.option('json', { type: 'boolean', global: false, default: false, describe: 'print one JSON object (progress goes to stderr)' }).option('device', { type: 'string', array: true, global: false, default: [] as string[], describe: 'device id to target (repeatable; default: every device)' })
    .option('cohort', { type: 'string', array: true, global: false, default: [] as string[], describe: 'cohort to target (repeatable)' })
    .option('rollout-expires', { type: 'string', global: false, default: '7d', describe: 'rollout expiry (capped at the release expiry)' })
    .option('spread', { type: 'string', global: false, describe: 'window over which devices start downloading (e.g. 2h); default none' });
}

function uintArg(text: string, flag: string): number {
  const n = parseUintArg(text);
  if (n === undefined) throw new OtaError('USAGE', `${flag} must be a whole number 0..2^53-1, got ${JSON.stringify(text)}`);
  return n;
}

/** `--name` checked as the device's reader checks it. */
function releaseNameArg(text: string): string {
  if (!RELEASE_NAME.test(text)) throw new OtaError('USAGE', `--name must be 1..${RELEASE_NAME_MAX} printable ASCII characters, no space at either end, got ${JSON.stringify(text.slice(0, 80))}`);
  return text;
}

/** Parse `FILE@BASE_IMAGE` of --delta. */
function deltaArg(text: string, cwd: string, format: string): DeltaSource {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) throw new OtaError('USAGE', `--delta ${text}: expected DELTA_FILE@BASE_IMAGE`);
  return { kind: 'file', file: resolve(cwd, text.slice(0, at)), base: resolve(cwd, text.slice(at + 1)), format };
}

/** Registers `release` and `rollout`. */
export const releaseCommand: Register = (y, ctx, setExit) =>
  y.command('release', 'sign a release of an image and a rollout of it to every device; writes DIR/notice.json', (b) => targetOptions(b
    .option('image', { type: 'string', demandOption: true, describe: 'the full slot image' })
    .option('version', { type: 'string', demandOption: true, describe: 'release version (whole number, increasing: the anti-rollback counter)' })
    .option('name', { type: 'string', describe: `the release's human version, e.g. 2.1.0 (printable ASCII, at most ${RELEASE_NAME_MAX} characters), signed with it and shown by status, verify and install` })
    .option('hardware', { type: 'string', array: true, demandOption: true, describe: 'compatible hardware id (repeatable)' })
    .option('channel', { type: 'string', describe: 'release channel (e.g. next; default stable): signed into the release and its rollouts, published on that channel\'s rollout topic' })
    .option('keys', { type: 'string', demandOption: true, describe: 'key directory (ota-fleet keygen)' })
    .option('out', { type: 'string', demandOption: true, describe: 'release directory to write' })
    .option('bundle', { type: 'string', describe: 'also write the release as one file, FILE.ota (notice and artifacts), for ota-agent install FILE.ota' })
    .option('expires', { type: 'string', default: '30d', describe: 'release expiry' })
    .option('segment-size', { type: 'string', default: String(DEFAULT_SEGMENT_BYTES), describe: 'bytes per hashed segment of the image (an otadelta is cut on its own segments)' })
    .option('from', { type: 'string', array: true, default: [] as string[], describe: 'base image to make a delta from, here (repeatable: one delta per base)' })
    .option('delta', { type: 'string', array: true, default: [] as string[], describe: 'a delta made beforehand: DELTA_FILE@BASE_IMAGE (repeatable)' })
    .option('delta-format', { type: 'string', default: 'otadelta', describe: 'format name of the --delta files' })
    .option('boot-script', { type: 'string', describe: 'a new boot.scr (mkimage -T script) for devices to write on their boot partition, signed with the release; firmware, U-Boot, config.txt and device trees are refused (docs/boot-partition-updates.md)' })
    .option('etc-manifest', { choices: ['auto', 'none'] as const, default: 'auto' as const, describe: 'record the manifest of the image\'s /etc (ext4) so devices report /etc conflicts; none: for a fleet still on agents that refuse it (docs/data-partition.md)' })
    .option('full-image', { choices: ['compressed', 'raw'] as const, default: 'compressed' as const, describe: 'the full image devices fall back to: compressed (brotli, per-segment, any otadelta agent applies it) or raw (the image as is)' })),
  async (a) => {
    // Every flag is parsed and checked before any file is read: a typo costs no hashing.
    const keysDir = resolve(ctx.cwd, a.keys);
    const out = resolve(ctx.cwd, a.out);
    const nowMs = ctx.now().getTime();
    const version = uintArg(a.version, '--version');
    const expiresMs = nowMs + parseDurationMs(a.expires, '--expires');
    const name = a.name === undefined ? undefined : releaseNameArg(a.name);
    const channel = a.channel === undefined ? undefined : checkChannelName(a.channel, 'release --channel'); // before anything is written
    const segmentBytes = uintArg(a['segment-size'], '--segment-size');
    if (segmentBytes < 1) throw new OtaError('USAGE', '--segment-size must be at least 1');
    const sources: DeltaSource[] = [
      ...a.from.map((b): DeltaSource => ({ kind: 'from', base: resolve(ctx.cwd, b) })),
      ...a.delta.map((t) => deltaArg(t, ctx.cwd, a['delta-format'])),
    ];
    rolloutSigned(rolloutSpec(a, nowMs, { version, sha256: '0'.repeat(64) }, 0)); // before anything is written
    if (await readFileIfExists(join(out, 'release.json')) !== undefined) throw new OtaError('RELEASE_EXISTS', `${out} already holds a release: use a new directory`);
    const imagePath = resolve(ctx.cwd, a.image);
    const imageStat = await fsp.stat(imagePath).catch((err: unknown) => { throw withContext(`release: --image ${imagePath}`, err); });
    checkImageSize(imageStat.size, `release: --image ${imagePath}`, 'name the real slot image (a device arms no smaller image)');
    const bundle = a.bundle === undefined ? undefined : resolve(ctx.cwd, a.bundle);
    if (bundle !== undefined) await checkBundleTarget(bundle);
    const bootScriptBytes = a['boot-script'] === undefined ? undefined : await readBootScript(resolve(ctx.cwd, a['boot-script']));
    const { root } = await loadCurrentRoot(keysDir);
    const releaseKeys = await roleKeys(keysDir, root, 'release');
    const progress = new Progress(ctx.stderr);
    const planned = await planDeltas(sources, segmentBytes, progress, imagePath);
    await fsp.mkdir(out, { recursive: true });
    const { installed, full } = await addFullImage(out, imagePath, a.image, imageStat.size, a['full-image'], segmentBytes, progress);
    const deltas: JsonObject[] = await addDeltas(out, imagePath, planned, segmentBytes, progress);
    const etc = a['etc-manifest'] === 'none' ? undefined : await addEtcManifest(out, imagePath);
    const bootScript = bootScriptBytes === undefined ? undefined : await addBootScript(out, bootScriptBytes);
    if (!a.json) {
      ctx.stdout.write(etc !== undefined ? `recorded the /etc manifest (${etc.paths} paths): devices report the files they changed that this release changes too\n`
        : `no /etc manifest: ${a['etc-manifest'] === 'none' ? '--etc-manifest none' : `${a.image} is not ext4 or has no /etc`} (devices carry their /etc changes over without a conflict check)\n`);
    }
    const release = signRelease({
      version, expiresMs, hardware: a.hardware, installed, image: full, deltas,
      ...(etc === undefined ? {} : { etc: etc.artifact }), ...(bootScript === undefined ? {} : { bootScript }), ...(name === undefined ? {} : { name }),
      ...(channel === undefined ? {} : { channels: [channel] }),
    }, releaseKeys);
    readRelease(readEnvelope(release, 'release'), 'release'); // the device's own check, before anything is published
    await writeFileAtomic(join(out, 'release.json'), canonicalBytes(release));
    if (!a.json) ctx.stdout.write(`signed ${releaseLabel({ version, name })} into ${join(out, 'release.json')}, expires ${formatUtcTime(expiresMs)}\n`);
    const r = await rollout(ctx, out, join(out, 'notice.json'), keysDir, a, nowMs);
    const artifacts = 1 + deltas.length + (etc === undefined ? 0 : 1) + (bootScript === undefined ? 0 : 1);
    const bundleBytes = bundle === undefined ? undefined : await writeBundle(out, bundle);
    if (bundle !== undefined && !a.json) ctx.stdout.write(`wrote ${bundle} (bundle: notice and ${artifacts} artifact(s), ${bundleBytes} bytes)\n`);
    if (a.json) {
      printJson(ctx, {
        release: { version, name: name ?? null, expires: formatUtcTime(expiresMs), dir: out, installed, deltas: deltas.length, fullImage: a['full-image'], etcManifest: etc !== undefined, bootScript: bootScript !== undefined },
        rollout: r,
        ...(bundle === undefined ? {} : { bundle: { path: bundle, artifacts, sizeBytes: bundleBytes } }),
      });
    }
  })
    .command('rollout', 'sign a rollout of a release (who gets it, until when, spread); writes a notice. Staged rollouts: rollout start|run|status|pause|resume|abort', (b) => rolloutControlCommands(targetOptions(b
      .option('release', { type: 'string', global: false, describe: 'release directory (ota-fleet release --out)' })
      .option('keys', { type: 'string', global: false, describe: 'key directory' })
      .option('out', { type: 'string', global: false, describe: 'notice file to write (default: RELEASE/notice.json)' })), ctx, setExit),
    async (a) => {
      if (a.release === undefined || a.keys === undefined) throw new OtaError('USAGE', 'ota-fleet rollout: --release and --keys are required (or name a subcommand: start, run, status, pause, resume, abort)');
      const dir = resolve(ctx.cwd, a.release);
      const r = await rollout(ctx, dir, a.out === undefined ? join(dir, 'notice.json') : resolve(ctx.cwd, a.out), resolve(ctx.cwd, a.keys), a, ctx.now().getTime());
      if (a.json) printJson(ctx, { rollout: r });
    });

/** The full image of a release, compressed (an otadelta without a base) or raw; and the installed image's digest. */
async function addFullImage(out: string, imagePath: string, name: string, sizeBytes: number, kind: 'compressed' | 'raw', segmentBytes: number, progress: Progress): Promise<{ installed: ImageDigest; full: JsonObject }> {
  progress.start(`hashing image ${name}`, sizeBytes);
  const asRead = (n: number): void => checkImageSize(n, `release: --image ${imagePath} (as read)`, 'name the real slot image (a device arms no smaller image)');
  if (kind === 'raw') {
    const image = await addArtifact(out, imagePath, 'img', segmentBytes, (n) => progress.advance(n));
    asRead(image.sizeBytes);
    progress.done(`${image.sizeBytes} bytes in ${image.segments.length} segments`);
    return { installed: { sizeBytes: image.sizeBytes, sha256: image.sha256 }, full: artifactJson(image, RAW_FORMAT) };
  }
  const image = await hashFile(imagePath, segmentBytes, undefined, (n) => progress.advance(n));
  asRead(image.sizeBytes);
  progress.done(`${image.sizeBytes} bytes`);
  return { installed: { sizeBytes: image.sizeBytes, sha256: image.sha256 }, full: await addCompressedImage(out, imagePath, progress) };
}

type TargetArgs = { device: string[]; cohort: string[]; 'rollout-expires': string; spread: string | undefined };

function rolloutOptions(a: TargetArgs, nowMs: number): RolloutOptions {
  const spreadSeconds = a.spread === undefined ? 0 : parseDurationMs(a.spread, '--spread') / 1000;
  return { devices: a.device, cohorts: a.cohort, expiresMs: nowMs + parseDurationMs(a['rollout-expires'], '--rollout-expires'), spreadSeconds, nowMs };
}

/** The rollout `release` would sign for `a`, naming `release` (for the device's check before any file is written). */
function rolloutSpec(a: TargetArgs, nowMs: number, release: RolloutSpec['release'], version: number): RolloutSpec {
  const o = rolloutOptions(a, nowMs);
  return { version, issuedMs: nowMs, expiresMs: o.expiresMs, release, devices: o.devices, cohorts: o.cohorts, spreadSeconds: o.spreadSeconds };
}

/** The rollout part of what `release --json` and `rollout --json` print (docs/cli.md). */
interface RolloutResult { readonly version: number; readonly expires: string; readonly notice: string; readonly noticeBytes: number; readonly devices: string[]; readonly cohorts: string[] }

/** Sign and write a rollout; says so (a line, or nothing under --json: the caller prints the object). */
async function rollout(ctx: CliContext, dir: string, noticeFile: string, keysDir: string, a: TargetArgs & { json: boolean }, nowMs: number): Promise<RolloutResult> {
  const r = await writeRollout(keysDir, dir, noticeFile, rolloutOptions(a, nowMs));
  const who = a.device.length + a.cohort.length === 0 ? 'every device' : [...a.device, ...a.cohort.map((c) => `cohort ${c}`)].join(', ');
  if (!a.json) ctx.stdout.write(`wrote ${noticeFile} (rollout ${r.version} to ${who}, ${r.noticeBytes.byteLength} bytes), expires ${formatUtcTime(r.expiresMs)}\n`);
  return { version: r.version, expires: formatUtcTime(r.expiresMs), notice: noticeFile, noticeBytes: r.noticeBytes.byteLength, devices: a.device, cohorts: a.cohort };
}
