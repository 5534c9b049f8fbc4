/**
 * Provisioning: the device's identity and config written onto the data
 * partition, where updates never replace them. One directory (the config's
 * `dataDir`) holds `agent.json` (the full agent config, every path in it
 * absolute), `root.json` (the trusted root, the trust store's file), and when
 * the broker authenticates the device by certificate `device.pem`,
 * `device.key` (mode 0600) and optionally `ca.pem`. The slot's
 * `/etc/ota-agent/agent.json` is a link to `DATA_DIR/agent.json`, or the units
 * name it with `--config`: the factory image carries no per-device secret.
 *
 * Everything is read and validated before anything is written; an existing
 * identity is replaced only with `force`. Each file is written atomically
 * (temp, fsync, rename, fsync dir); `agent.json` last, so a cut leaves either
 * no config or a config whose files are all there.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { validateAgentConfig, type AgentConfig } from '../config/index.js';
import { mkdirDurable, readFileIfExists, writeFileAtomic } from '../durable/index.js';
import { OtaError, describe } from '../errors/index.js';
import { TRUST_FILES, loadRoot } from '../trust/index.js';

/** The files provisioning writes into the data directory. */
export const PROVISION_FILES = { config: 'agent.json', root: TRUST_FILES.root, cert: 'device.pem', key: 'device.key', ca: 'ca.pem' } as const;

/** The keys of a provisioning file besides agent.json's own: the files to install, relative to the provisioning file. */
export const PROVISION_FILE_KEY = 'files';

/** Bytes of one file to install, and the name it came from (for messages). */
export interface SourceFile {
  readonly bytes: Uint8Array;
  readonly source: string;
}

/** What to provision: a provisioning file's config (optional) overridden by flags, and the files to install. */
export interface ProvisionInput {
  /** Absolute path of the data directory; the config's `dataDir` is set to it. */
  readonly dataDir: string;
  /** The provisioning file's JSON without its `files` member (agent.json fields), or an empty object. */
  readonly base: Readonly<Record<string, unknown>>;
  readonly deviceId?: string;
  readonly hardware?: string;
  readonly brokerUrl?: string;
  readonly mirrors?: readonly string[];
  readonly root?: SourceFile;
  readonly cert?: SourceFile;
  readonly key?: SourceFile;
  readonly ca?: SourceFile;
}

/** One file to write. */
interface Write {
  readonly name: string;
  readonly bytes: Uint8Array | string;
  readonly mode: number;
}

/** A validated provisioning: the config it makes and the files to write, in order. */
export interface ProvisionPlan {
  readonly config: AgentConfig;
  readonly writes: readonly Write[];
}

const invalid = (what: string): OtaError => new OtaError('PROVISION_INVALID', `provision: ${what}`);

/** Compose and validate everything (the config with agent.json's validator, the root, the certificate and key); writes nothing. */
export function planProvision(input: ProvisionInput): ProvisionPlan {
  const dir = input.dataDir;
  const doc: Record<string, unknown> = { ...input.base };
  if (doc['dataDir'] !== undefined && doc['dataDir'] !== dir) throw invalid(`the provisioning file's dataDir ${JSON.stringify(doc['dataDir'])} is not the data directory ${dir}: drop it or pass --data-dir ${JSON.stringify(doc['dataDir'])}`);
  doc['dataDir'] = dir;
  if (input.deviceId !== undefined) doc['deviceId'] = input.deviceId;
  if (input.hardware !== undefined) doc['hardware'] = input.hardware;
  if (input.mirrors !== undefined && input.mirrors.length > 0) doc['artifacts'] = { urls: [...input.mirrors] };
  const mqtt = mqttWith(doc['mqtt'], input, dir);
  if (mqtt !== undefined) doc['mqtt'] = mqtt;
  const config = validateAgentConfig(doc, join(dir, PROVISION_FILES.config));
  if (input.root === undefined) throw invalid('no trusted root: pass --root ROOT.json (the fleet\'s root.json) or name it under "files" in the provisioning file');
  loadRoot(input.root.bytes, input.root.source);
  if (input.cert !== undefined && input.key !== undefined) checkKeyPair(input.cert, input.key);
  const tls = config.mqtt?.tls;
  if (config.mqtt?.url.startsWith('mqtts://') === true && tls?.certFile === undefined && config.mqtt.password === undefined) {
    throw invalid(`the broker ${config.mqtt.url} is mqtts but the device has no client certificate or password: pass --cert CERT.pem --key KEY.pem`);
  }
  const writes: Write[] = [];
  if (input.key !== undefined) writes.push({ name: PROVISION_FILES.key, bytes: input.key.bytes, mode: 0o600 });
  if (input.cert !== undefined) writes.push({ name: PROVISION_FILES.cert, bytes: input.cert.bytes, mode: 0o644 });
  if (input.ca !== undefined) writes.push({ name: PROVISION_FILES.ca, bytes: input.ca.bytes, mode: 0o644 });
  writes.push({ name: PROVISION_FILES.root, bytes: input.root.bytes, mode: 0o644 });
  writes.push({ name: PROVISION_FILES.config, bytes: `${JSON.stringify(doc, null, 2)}\n`, mode: 0o644 });
  return { config, writes };
}

/** The `mqtt` section with the broker URL and the installed TLS files; undefined when there is none. */
function mqttWith(value: unknown, input: ProvisionInput, dir: string): Record<string, unknown> | undefined {
  const wantsTls = input.cert !== undefined || input.key !== undefined || input.ca !== undefined;
  if (value === undefined && input.brokerUrl === undefined) {
    if (wantsTls) throw invalid('--cert, --key and --ca need a broker: pass --broker mqtts://HOST:PORT');
    return undefined;
  }
  if (value !== undefined && !isRecord(value)) return undefined; // the config validator reports it
  const mqtt: Record<string, unknown> = { ...value };
  if (input.brokerUrl !== undefined) mqtt['url'] = input.brokerUrl;
  if (!wantsTls) return mqtt;
  if ((input.cert === undefined) !== (input.key === undefined)) throw invalid('--cert and --key go together (the client certificate and its private key)');
  const tls: Record<string, unknown> = isRecord(mqtt['tls']) ? { ...mqtt['tls'] } : {};
  if (input.cert !== undefined) Object.assign(tls, { certFile: join(dir, PROVISION_FILES.cert), keyFile: join(dir, PROVISION_FILES.key) });
  if (input.ca !== undefined) tls['caFile'] = join(dir, PROVISION_FILES.ca);
  mqtt['tls'] = tls;
  return mqtt;
}

/** Refuse a certificate and key that do not parse or do not belong together. */
export function checkKeyPair(cert: SourceFile, key: SourceFile): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.bytes);
  } catch (err) {
    throw invalid(`${cert.source} is not a PEM certificate (${describe(err)}): pass the device's client certificate`);
  }
  let ok: boolean;
  try {
    ok = x509.checkPrivateKey(createPrivateKey({ key: Buffer.from(key.bytes) }));
  } catch (err) {
    throw invalid(`${key.source} is not a usable private key (${describe(err)}): pass the key of ${cert.source}, unencrypted PEM`);
  }
  if (!ok) throw invalid(`${key.source} is not the private key of ${cert.source}: pass the matching pair`);
}

/** The identity files already in `dataDir` (config or root). */
export async function existingIdentity(dataDir: string): Promise<string[]> {
  const names = [PROVISION_FILES.config, PROVISION_FILES.root, PROVISION_FILES.key];
  const found = await Promise.all(names.map(async (n) => (await readFileIfExists(join(dataDir, n))) !== undefined));
  return names.filter((_, i) => found[i] === true);
}

/**
 * Write a plan into its data directory. Without `force`, an existing identity
 * is a refusal and nothing is written (the check comes before the first write).
 */
export async function applyProvision(plan: ProvisionPlan, force: boolean): Promise<void> {
  const dir = plan.config.dataDir;
  const existing = await existingIdentity(dir);
  if (existing.length > 0 && !force) {
    throw new OtaError('PROVISION_EXISTS', `provision: ${dir} already holds a device identity (${existing.join(', ')}); nothing written: pass --force to replace it`);
  }
  await mkdirDurable(dir);
  for (const w of plan.writes) await writeFileAtomic(join(dir, w.name), w.bytes, w.mode);
}

/** A JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
