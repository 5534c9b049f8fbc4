/**
 * `sim create`: lay out a file-backed device in one directory: two slot images,
 * a U-Boot env image with its fw_env.config, the kernel command line file, the
 * boot script, the data directory with the trusted root, and agent.json. Then
 * power it on once (the script saves its canary and boots A) and commit A.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { UBootControl } from '../boot/index.js';
import { openBootEnv } from '../bootenv/index.js';
import { withContext } from '../errors/index.js';
import { mkdirDurable, writeFileAtomic } from '../durable/index.js';
import { SlotRecordStore } from '../slots/index.js';
import { loadTrustState, provisionRoot, recordInstalled } from '../trust/index.js';
import { SIM_DEFAULT_ENV, powerOn } from './power.js';

/** How to build the simulated device. */
export interface SimSpec {
  /** The device directory (absolute). */
  readonly dir: string;
  readonly deviceId: string;
  readonly hardware: string;
  /** The provisioned release channel (config `channel`); absent: none written (`stable`). */
  readonly channel?: string;
  /** The fleet's root.json. */
  readonly rootBytes: Uint8Array;
  /** The image for slot A (absolute path). */
  readonly imagePath: string;
  /** Release version of that image; null when unknown. */
  readonly version: number | null;
  readonly env: 'redundant' | 'single';
  readonly envSizeBytes: number;
  readonly bootScript: string;
  readonly tries: number;
  /** Optional `mqtt` section and artifact URLs for `run`. */
  readonly mqtt?: { readonly url: string; readonly protocolVersion: 4 | 5 };
  readonly artifactUrls: readonly string[];
}

/** File names inside a simulated device directory. */
export const SIM_FILES = {
  slotA: 'slot-A.img', slotB: 'slot-B.img', env: 'env.img', envConfig: 'fw_env.config',
  cmdline: 'cmdline', bootScript: 'boot.cmd', data: 'data', agentConfig: 'agent.json',
} as const;

/** The agent.json of a simulated device (paths relative to the directory). */
export function simAgentConfig(spec: SimSpec): Record<string, unknown> {
  return {
    comment: 'A simulated device made by ota-agent sim create: file-backed slots and U-Boot env; boot with ota-agent sim boot.',
    deviceId: spec.deviceId, hardware: spec.hardware, ...(spec.channel === undefined ? {} : { channel: spec.channel }), dataDir: SIM_FILES.data, env: SIM_FILES.envConfig,
    cmdlinePath: SIM_FILES.cmdline, bootloader: 'simulator', bootScriptPath: SIM_FILES.bootScript, tries: spec.tries,
    slots: { A: { device: SIM_FILES.slotA }, B: { device: SIM_FILES.slotB } },
    ...(spec.mqtt === undefined ? {} : { mqtt: { url: spec.mqtt.url, protocolVersion: spec.mqtt.protocolVersion, backoff: { baseMs: 200, capMs: 5000 } } }),
    ...(spec.artifactUrls.length === 0 ? {} : { artifacts: { urls: spec.artifactUrls } }),
    health: { deadlineMs: 20_000, checks: [] },
    logFormat: 'text',
  };
}

/** Create the device; resolves to the slot the first boot ran (A). */
export async function createSimDevice(spec: SimSpec): Promise<string> {
  const at = (name: string): string => join(spec.dir, name);
  await mkdirDurable(at(SIM_FILES.data));
  const imageSize = await copyImage(spec.imagePath, at(SIM_FILES.slotA));
  await fsp.writeFile(at(SIM_FILES.slotB), '');
  await fsp.truncate(at(SIM_FILES.slotB), imageSize.sizeBytes);
  const copies = spec.env === 'redundant' ? 2 : 1;
  await fsp.writeFile(at(SIM_FILES.env), Buffer.alloc(copies * spec.envSizeBytes));
  // Absolute: fw_printenv resolves a relative device against its working directory, not the config's.
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const lines = Array.from({ length: copies }, (_, i) => `${at(SIM_FILES.env)} ${hex(i * spec.envSizeBytes)} ${hex(spec.envSizeBytes)}`);
  await writeFileAtomic(at(SIM_FILES.envConfig), `# simulated device: ${spec.env} U-Boot env in env.img\n${lines.join('\n')}\n`);
  await writeFileAtomic(at(SIM_FILES.bootScript), spec.bootScript);
  await writeFileAtomic(at(SIM_FILES.cmdline), 'console=ttyAMA0\n');
  await writeFileAtomic(at(SIM_FILES.agentConfig), `${JSON.stringify(simAgentConfig(spec), null, 2)}\n`);
  await provisionRoot(at(SIM_FILES.data), spec.rootBytes);
  if (spec.version !== null) await recordInstalled(at(SIM_FILES.data), await loadTrustState(at(SIM_FILES.data)), spec.version);
  const records = new SlotRecordStore(at(SIM_FILES.data));
  await records.setContent('A', { version: spec.version, ...imageSize });
  // U-Boot's first start writes its default env (as mkenvimage would have), then the script runs.
  const env = await openBootEnv({ configPath: at(SIM_FILES.envConfig) });
  await env.update({}, { defaultsWhenInvalid: SIM_DEFAULT_ENV });
  const first = await powerOn(env, at(SIM_FILES.cmdline), spec.bootScript);
  const boot = new UBootControl({ env, cmdlinePath: at(SIM_FILES.cmdline), tries: spec.tries });
  await boot.markGood('A');
  await boot.markBad('B'); // empty until the first install
  await records.setCommitted('A');
  return first.slot;
}

/** Copy the image into slot A, fsynced; returns its size and sha256. */
async function copyImage(src: string, dest: string): Promise<{ sizeBytes: number; sha256: string }> {
  const input = await fsp.open(src, 'r').catch((err: unknown) => { throw withContext(`image ${src}`, err); });
  const output = await fsp.open(dest, 'w');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    let sizeBytes = 0;
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, sizeBytes);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      await output.write(buf, 0, bytesRead, sizeBytes);
      sizeBytes += bytesRead;
    }
    await output.sync();
    return { sizeBytes, sha256: hash.digest('hex') };
  } finally {
    await input.close();
    await output.close();
  }
}
