/**
 * `doctor`'s check of what provisioning wrote: the device id, and when the
 * broker authenticates the device by certificate, the certificate and its key
 * present, matching, and the key readable by its owner only. (The trusted root
 * is doctor's own `trusted root` check.)
 */
import { stat } from 'node:fs/promises';
import type { AgentConfig } from '../config/index.js';
import { readFileIfExists } from '../durable/index.js';
import { checkKeyPair } from './provision.js';

/** A verdict and its detail, as doctor reports them. */
export type IdentityVerdict = ['ok' | 'warn' | 'fail', string];

const PROVISION_HINT = 'run ota-agent provision (see docs/agent-config.md)';

/** Check the device identity `config` names; throws only on an unexpected read error. */
export async function checkIdentity(config: AgentConfig): Promise<IdentityVerdict> {
  const who = `device ${config.deviceId} (hardware ${config.hardware})`;
  const mqtt = config.mqtt;
  if (mqtt === undefined) return ['ok', `${who}, offline (no broker)`];
  const { certFile, keyFile } = mqtt.tls ?? {};
  if (certFile === undefined || keyFile === undefined) {
    if (mqtt.url.startsWith('mqtts://') && mqtt.password === undefined) return ['fail', `${who}: broker ${mqtt.url} is mqtts but no client certificate or password is configured: ${PROVISION_HINT}`];
    return ['ok', `${who}, broker ${mqtt.url} without a client certificate`];
  }
  const [cert, key] = await Promise.all([readFileIfExists(certFile), readFileIfExists(keyFile)]);
  const missing = [cert === undefined ? certFile : undefined, key === undefined ? keyFile : undefined].filter((f) => f !== undefined);
  if (cert === undefined || key === undefined) return ['fail', `${who}: missing ${missing.join(' and ')}: ${PROVISION_HINT}`];
  checkKeyPair({ bytes: cert, source: certFile }, { bytes: key, source: keyFile });
  const mode = (await stat(keyFile)).mode & 0o777;
  if ((mode & 0o077) !== 0) return ['fail', `${who}: ${keyFile} is readable by others (mode ${mode.toString(8)}): chmod 600 ${keyFile}`];
  return ['ok', `${who}, client certificate ${certFile} and its key (mode 600)`];
}
