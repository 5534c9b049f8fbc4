/**
 * `ota-agent provision [--from FILE] [--data-dir DIR] [--device-id ID] [--hardware HW] [--broker URL]
 * [--mirror URL]... [--root ROOT.json] [--cert CERT.pem --key KEY.pem] [--ca CA.pem] [--force]`:
 * write the device's identity and config onto the data partition (agent/src/provision).
 */
import { resolve } from 'node:path';
import type { Register } from './framework.js';
import { DEFAULT_DATA_DIR } from '../boot/index.js';
import { METADATA_LIMITS } from '../formats/index.js';
import { FILE_FLAGS, applyProvision, planProvision, readProvisioningFile, type FileFlag, type ProvisionInput, type SourceFile } from '../provision/index.js';
import { readBounded } from '../files/index.js';

const MAX_PEM_BYTES = 64 * 1024;

type ProvisionArgs = { [K in 'from' | 'data-dir' | 'device-id' | 'hardware' | 'broker' | FileFlag]?: string | undefined } & { mirror?: (string | number)[] | undefined; force: boolean };

/** The input of planProvision from the flags and the provisioning file (flags win). */
async function inputFrom(cwd: string, a: ProvisionArgs): Promise<ProvisionInput> {
  const fromFile = a.from === undefined ? { base: {}, files: {} } : await readProvisioningFile(resolve(cwd, a.from));
  const read = async (flag: FileFlag): Promise<SourceFile | undefined> => {
    const f = a[flag] !== undefined ? resolve(cwd, a[flag]) : fromFile.files[flag];
    return f === undefined ? undefined : { bytes: await readBounded(f, flag === 'root' ? METADATA_LIMITS.maxBytes : MAX_PEM_BYTES, `--${flag}`), source: f };
  };
  const [root, cert, key, ca] = await Promise.all(FILE_FLAGS.map(read));
  return {
    dataDir: resolve(cwd, a['data-dir'] ?? stringOr(fromFile.base['dataDir'], DEFAULT_DATA_DIR)),
    base: fromFile.base,
    ...(a['device-id'] === undefined ? {} : { deviceId: a['device-id'] }),
    ...(a.hardware === undefined ? {} : { hardware: a.hardware }),
    ...(a.broker === undefined ? {} : { brokerUrl: a.broker }),
    ...(a.mirror === undefined ? {} : { mirrors: a.mirror.map(String) }),
    ...(root === undefined ? {} : { root }), ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }), ...(ca === undefined ? {} : { ca }),
  };
}

/** Registers `provision`. */
export const provisionCommand: Register = (y, ctx) =>
  y.command('provision', 'write the device identity and config onto the data partition (refuses to replace one without --force)', (b) => b
    .option('from', { type: 'string', describe: 'provisioning file: agent.json fields, and "files": { root, cert, key, ca } (paths relative to it)' })
    .option('data-dir', { type: 'string', describe: `the data directory to write (default: the provisioning file's dataDir, else ${DEFAULT_DATA_DIR})` })
    .option('device-id', { type: 'string', describe: 'the device id' })
    .option('hardware', { type: 'string', describe: 'the hardware id' })
    .option('broker', { type: 'string', describe: 'broker URL, mqtt:// or mqtts://' })
    .option('mirror', { type: 'array', string: true, describe: 'artifact base URL (repeat for mirrors, in order)' })
    .option('root', { type: 'string', describe: 'the fleet\'s trusted root.json' })
    .option('cert', { type: 'string', describe: 'client certificate (PEM)' })
    .option('key', { type: 'string', describe: 'client private key (PEM; installed with mode 0600)' })
    .option('ca', { type: 'string', describe: 'CA certificate of the broker (PEM)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing identity' }),
  async (a) => {
    const plan = planProvision(await inputFrom(ctx.cwd, a));
    await applyProvision(plan, a.force);
    const c = plan.config;
    ctx.stdout.write(`provisioned device ${c.deviceId} (hardware ${c.hardware}) in ${c.dataDir}: ${plan.writes.map((w) => w.name).join(', ')}; `
      + `the agent reads ${c.source} (link /etc/ota-agent/agent.json to it, or pass --config)\n`);
  });

function stringOr(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}
