/**
 * `ota-agent sim create DIR --hardware HW --root ROOT_JSON --image IMG [--env redundant|single]`
 * and `ota-agent --config DIR/agent.json sim boot [--no-agent] [--fail-health]`: a
 * simulated, file-backed device for pipelines without hardware, the demo and tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliContext, Register } from './framework.js';
import { OtaError, withContext } from '../errors/index.js';
import { METADATA_LIMITS, checkChannelName } from '../formats/index.js';
import { DEFAULT_TRIES, MAX_TRIES } from '../boot/index.js';
import { readCapped } from './args.js';
import { globalArgs, sessionFor, withDevice } from './device.js';
import type { Opened } from '../device/index.js';
import { postBoot } from '../device/index.js';
import { SIM_FILES, createSimDevice } from '../sim/index.js';
import { powerOn } from '../sim/index.js';

/** bootloader/boot.cmd of the source tree (the build runs from build/agent/src/sim/), if present. */
function defaultBootScript(): string | undefined {
  const path = fileURLToPath(new URL('../../../../bootloader/boot.cmd', import.meta.url));
  return existsSync(path) ? path : undefined;
}

interface CreateArgs {
  dir: string; hardware: string; root: string; image: string; env: string; 'device-id': string | undefined; version: number | undefined;
  tries: number; 'env-size': number; 'boot-script': string | undefined; 'mqtt-url': string | undefined;
  'protocol-version': number | undefined; 'mqtt-protocol': number | undefined; 'artifacts-url': string[]; channel: string | undefined;
}

async function create(ctx: CliContext, a: CreateArgs): Promise<void> {
  const dir = resolve(ctx.cwd, a.dir);
  if (existsSync(join(dir, SIM_FILES.agentConfig))) throw new OtaError('SIM_EXISTS', `${dir} already holds a simulated device (agent.json): use a new directory`);
  const scriptPath = a['boot-script'] === undefined ? defaultBootScript() : resolve(ctx.cwd, a['boot-script']);
  if (scriptPath === undefined) throw new OtaError('SIM_NO_SCRIPT', 'cannot find bootloader/boot.cmd next to this build: pass --boot-script FILE');
  const bootScript = await readFile(scriptPath, 'utf8').catch((err: unknown) => { throw withContext(`boot script ${scriptPath}`, err); });
  const version = a.version;
  if (version !== undefined && (!Number.isSafeInteger(version) || version < 0)) throw new OtaError('USAGE', `--version must be a whole number, got ${version}`);
  if (!Number.isInteger(a.tries) || a.tries < 1 || a.tries > MAX_TRIES) throw new OtaError('USAGE', `--tries must be 1..${MAX_TRIES}`);
  if (!Number.isInteger(a['env-size']) || a['env-size'] < 1024 || a['env-size'] % 512 !== 0) throw new OtaError('USAGE', '--env-size must be a multiple of 512 bytes, at least 1024');
  if (a['mqtt-protocol'] !== undefined) ctx.stderr.write('ota-agent: sim create: --mqtt-protocol is deprecated: use --protocol-version, as ota-fleet does\n');
  // MQTT 5 unless asked: the agent falls back to 3.1.1 by itself when a broker refuses 5 (ota-fleet serve does).
  const protocolVersion = (a['protocol-version'] ?? a['mqtt-protocol']) === 4 ? 4 : 5;
  const env = a.env === 'single' ? 'single' : 'redundant';
  const slot = await createSimDevice({
    dir, deviceId: a['device-id'] ?? basename(dir), hardware: a.hardware,
    ...(a.channel === undefined ? {} : { channel: checkChannelName(a.channel, 'sim create --channel') }),
    rootBytes: await readCapped(resolve(ctx.cwd, a.root), METADATA_LIMITS.maxBytes),
    imagePath: resolve(ctx.cwd, a.image), version: version ?? null, env, envSizeBytes: a['env-size'], bootScript, tries: a.tries,
    artifactUrls: a['artifacts-url'],
    ...(a['mqtt-url'] === undefined ? {} : { mqtt: { url: a['mqtt-url'], protocolVersion } }),
  });
  ctx.stdout.write(`created simulated device ${dir}: booted slot ${slot}, committed; config ${join(dir, SIM_FILES.agentConfig)}\n`);
}

async function boot(ctx: CliContext, o: Opened, a: { agent: boolean; 'fail-health': boolean }): Promise<void> {
  const bootloader = o.config.bootloader;
  if (bootloader.kind !== 'simulator') throw new OtaError('SIM_CONFIG', `agent config ${o.config.source}: its bootloader is U-Boot, not the simulator: sim boot runs only on a device made by sim create`);
  const script = readFileSync(bootloader.scriptPath, 'utf8');
  const booted = await powerOn(o.device.env, o.config.cmdlinePath, script);
  const count = /ota\.boot=(\S+)/.exec(booted.bootargs)?.[1] ?? '?';
  ctx.stdout.write(`U-Boot booted slot ${booted.slot} (ota.boot=${count})\n`);
  if (!a.agent) return;
  const session = sessionFor(ctx, o, 'sim', { failFleet: a['fail-health'] });
  const before = JSON.stringify((await session.record()).last);
  const r = await postBoot(session, o.log);
  const now = await o.device.boot.booted();
  const last = r.kind === 'rest' ? r.record.last : undefined;
  ctx.stdout.write(`post-boot done: running slot ${now}${last === undefined ? '' : `; last update ${last.outcome}${last.version === undefined ? '' : ` (release ${last.version})`}`}\n`);
  // This boot ended a trial by going back: the update failed, and scripts must see it (exit 1).
  if (last !== undefined && last.outcome !== 'installed' && JSON.stringify(last) !== before) {
    throw new OtaError('UPDATE_REVERTED', `sim boot: the trial of release ${last.version ?? '?'} ${last.outcome} (${last.error ?? 'no reason recorded'}); slot ${now} runs: fix the release and install again`);
  }
}

/** Registers `sim create` and `sim boot`. */
export const simCommand: Register = (y, ctx) =>
  y.command('sim', 'a simulated file-backed device (slots, U-Boot env, boot script simulator)', (s) => s
    .command('create <dir>', 'lay out a simulated device in DIR, booted into slot A and committed', (b) => b
      .positional('dir', { type: 'string', demandOption: true, describe: 'directory to create the device in' })
      .option('hardware', { type: 'string', demandOption: true, describe: 'the device\'s hardware id' })
      .option('root', { type: 'string', demandOption: true, describe: 'the fleet\'s root.json (ota-fleet keygen)' })
      .option('image', { type: 'string', demandOption: true, describe: 'the image slot A holds' })
      .option('env', { type: 'string', choices: ['redundant', 'single'], default: 'redundant', describe: 'one env copy or two' })
      .option('device-id', { type: 'string', describe: 'device id (default: the directory name)' })
      .option('channel', { type: 'string', describe: 'the release channel the device follows (default: stable)' })
      .option('version', { type: 'number', describe: 'release version of the image (default: unknown, 0)' })
      .option('tries', { type: 'number', default: DEFAULT_TRIES, describe: 'boot tries of a trial slot' })
      .option('env-size', { type: 'number', default: 0x4000, describe: 'bytes per env copy' })
      .option('boot-script', { type: 'string', describe: 'boot.cmd to simulate (default: bootloader/boot.cmd)' })
      .option('mqtt-url', { type: 'string', describe: 'broker for ota-agent run (mqtt://127.0.0.1:1883)' })
      .option('protocol-version', { type: 'number', choices: [4, 5], describe: 'MQTT level: 5 (default; falls back to 3.1.1 when the broker refuses 5) or 4 (3.1.1 only)' })
      .option('mqtt-protocol', { type: 'number', choices: [4, 5], hidden: true, describe: 'deprecated: --protocol-version' })
      .option('artifacts-url', { type: 'string', array: true, default: [] as string[], describe: 'base URL of release artifacts (repeatable)' }),
    (a) => create(ctx, a))
    .command('boot', 'power on: run the boot script on the env, record the booted slot, then the agent\'s post-boot step', (b) => b
      .option('agent', { type: 'boolean', default: true, describe: 'run the post-boot step (--no-agent: the slot never reaches userspace)' })
      .option('fail-health', { type: 'boolean', default: false, describe: 'make the required health check fail' }),
    (a) => withDevice(ctx, globalArgs(a), 'sim boot', (o) => boot(ctx, o, a)))
    .demandCommand(1, 'name a sim command: create or boot'));
