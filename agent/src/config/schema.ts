/**
 * The agent config (`agent.json`): one JSON file, validated once, every problem
 * listed with its field path. Paths in the file are relative to the file's own
 * directory, so a simulated device directory can move. The sections other
 * modules own (`health`, `machine`, `mqtt`) are read by their parsers into the same list of problems.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { OtaError, describe } from '../errors/index.js';
import type { Slot } from '../boot/index.js';
import { DEFAULT_TRIES, MAX_TRIES, SLOTS } from '../boot/index.js';
import { parseHealthConfig } from '../health/index.js';
import type { HealthConfig } from '../health/index.js';
import { parseMachineConfig } from '../machine/index.js';
import type { MachineConfig } from '../machine/index.js';
import { parseTransportConfig } from '../transport/index.js';
import type { TransportConfig } from '../transport/index.js';
import { Fields } from '../validate/index.js';
import { CHANNEL_NAME, parseStrictJson } from '../formats/index.js';
import { DEFAULT_MOUNTINFO_PATH, DEFAULT_SYSFS_ROOT } from '../files/index.js';

/** One slot: the file or block device holding it. */
export interface SlotConfig {
  readonly device: string;
  /** The slot's usable size; default: the file's or block device's size. */
  readonly sizeBytes?: number;
}

/**
 * Who runs the boot script at power-on: real U-Boot (a device; reboots go through `rebootCommand`),
 * or the agent's boot-script simulator on a file-backed device (`sim create`; reboots are simulated).
 */
export type Bootloader = { readonly kind: 'u-boot' } | { readonly kind: 'simulator'; readonly scriptPath: string };

/** Log output: `text` lines (journald adds the time) or one JSON object per line. */
export type LogFormat = 'text' | 'json';

/** A validated agent config; every path is absolute. */
export interface AgentConfig {
  /** The file this came from (for messages). */
  readonly source: string;
  readonly deviceId: string;
  readonly hardware: string;
  readonly cohort?: string;
  /** The release channel provisioned (`stable` when absent); `ota-agent channel set` or a signed switch changes the one followed (trust state). */
  readonly channel?: string;
  /** Journal, trusted root, version floor, slot records, download spool. */
  readonly dataDir: string;
  /** fw_env.config describing where U-Boot keeps its env. */
  readonly envConfigPath: string;
  /** The kernel command line (`/proc/cmdline` on a device). */
  readonly cmdlinePath: string;
  /** Which devices back which mounts (`/proc/self/mountinfo`): a slot backing a mount is never written. */
  readonly mountinfoPath: string;
  /** Where sysfs is mounted (`/sys`): block device sizes. */
  readonly sysfsRoot: string;
  /** Real U-Boot, or the simulator running bootloader/boot.cmd (`bootloader` and `bootScriptPath` in the file). */
  readonly bootloader: Bootloader;
  /** Tries a trial slot gets before the bootloader falls back (1..9). */
  readonly tries: number;
  readonly slots: Readonly<Record<Slot, SlotConfig>>;
  /** Absent: an offline device (updates only by `install`); the fleet health check is then skipped. */
  readonly mqtt?: TransportConfig;
  /** Base URLs (mirrors, in order) under which release artifact paths are fetched. */
  readonly artifactUrls: readonly string[];
  readonly health: HealthConfig;
  readonly machine: MachineConfig;
  readonly logFormat: LogFormat;
  /** The command that reboots the device (after arming, or to finish a revert). */
  readonly rebootCommand: readonly string[];
  /** Where the pre-init keeps each slot's /etc overlay, and the running slot's own /etc (docs/data-partition.md). */
  readonly etc: { readonly overlayDir: string; readonly lowerDir: string };
  /**
   * Where the boot partition is mounted (`bootPartition`, e.g. /boot/firmware): a release's new boot.scr is
   * written there (docs/boot-partition-updates.md). Absent: a release that carries one is refused.
   */
  readonly bootPartitionDir?: string;
}

/** The pre-init's paths (agent/init/ota-init): per-slot /etc overlays on the data partition, the running slot's /etc. */
export const DEFAULT_ETC = { overlayDir: '/data/overlay', lowerDir: '/run/ota/lower-etc' } as const;

const TOP_KEYS = ['$schema', 'comment', 'deviceId', 'hardware', 'cohort', 'channel', 'dataDir', 'env', 'cmdlinePath', 'mountinfoPath', 'sysfsRoot', 'bootloader', 'bootScriptPath', 'tries',
  'slots', 'mqtt', 'artifacts', 'health', 'machine', 'logFormat', 'rebootCommand', 'etc', 'bootPartition'] as const;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validate the parsed JSON of an agent config read from `source` (an absolute path). */
export function validateAgentConfig(json: unknown, source: string): AgentConfig {
  const f = new Fields(source);
  const top = f.object(json, '', TOP_KEYS);
  const base = dirname(source);
  const path = (v: unknown, field: string, fallback?: string): string => {
    const p = v === undefined && fallback !== undefined ? fallback : f.string(v, field);
    return p === '' ? '' : isAbsolute(p) ? p : resolve(base, p);
  };
  const deviceId = f.string(top['deviceId'], 'deviceId', ID);
  const hardware = f.string(top['hardware'], 'hardware', ID);
  const cohort = top['cohort'] === undefined ? undefined : f.string(top['cohort'], 'cohort', ID);
  const channel = top['channel'] === undefined ? undefined : f.string(top['channel'], 'channel', CHANNEL_NAME);
  const tries = top['tries'] === undefined ? DEFAULT_TRIES : f.integer(top['tries'], 'tries', 1, MAX_TRIES);
  const slots = slotTable(f, top['slots'], path);
  const artifactUrls = artifacts(f, top['artifacts']);
  const logFormat = top['logFormat'] === undefined ? 'text' : f.oneOf(top['logFormat'], 'logFormat', ['text', 'json'] as const) ?? 'text';
  const rebootCommand = top['rebootCommand'] === undefined ? ['systemctl', 'reboot'] : f.stringArray(top['rebootCommand'], 'rebootCommand');
  if (rebootCommand.length === 0) f.problem('rebootCommand', 'must name a command');
  const health = parseHealthConfig(top['health'], f);
  const machine = parseMachineConfig(top['machine'], f);
  const mqtt = top['mqtt'] === undefined ? undefined : parseTransportConfig(mqttSection(f, top['mqtt'], deviceId, hardware), f);
  const config: AgentConfig = {
    source, deviceId, hardware,
    dataDir: path(top['dataDir'], 'dataDir'),
    envConfigPath: path(top['env'], 'env'),
    cmdlinePath: path(top['cmdlinePath'], 'cmdlinePath', '/proc/cmdline'),
    mountinfoPath: path(top['mountinfoPath'], 'mountinfoPath', DEFAULT_MOUNTINFO_PATH),
    sysfsRoot: path(top['sysfsRoot'], 'sysfsRoot', DEFAULT_SYSFS_ROOT),
    bootloader: bootloader(f, top['bootloader'], top['bootScriptPath'], path),
    tries, slots, artifactUrls, logFormat, rebootCommand,
    etc: etcLayout(f, top['etc'], path),
    health,
    machine,
    ...(cohort === undefined ? {} : { cohort }),
    ...(channel === undefined ? {} : { channel }),
    ...(mqtt === undefined ? {} : { mqtt }),
    ...(top['bootPartition'] === undefined ? {} : { bootPartitionDir: path(top['bootPartition'], 'bootPartition') }),
  };
  f.finish();
  return config;
}

function slotTable(f: Fields, value: unknown, path: (v: unknown, field: string) => string): Record<Slot, SlotConfig> {
  const o = f.object(value, 'slots', SLOTS);
  const one = (slot: Slot): SlotConfig => {
    const s = f.object(o[slot], `slots.${slot}`, ['device', 'sizeBytes']);
    const device = path(s['device'], `slots.${slot}.device`);
    return s['sizeBytes'] === undefined ? { device } : { device, sizeBytes: f.integer(s['sizeBytes'], `slots.${slot}.sizeBytes`, 1, Number.MAX_SAFE_INTEGER) };
  };
  const table = { A: one('A'), B: one('B') };
  if (table.A.device !== '' && table.A.device === table.B.device) f.problem('slots.B.device', 'is the same device as slots.A.device: the slots must differ');
  return table;
}

/** `bootloader` (default `u-boot`), and the boot script the simulator runs: set exactly when it is `simulator`. */
function bootloader(f: Fields, kind: unknown, script: unknown, path: (v: unknown, field: string) => string): Bootloader {
  const chosen = kind === undefined ? 'u-boot' : f.oneOf(kind, 'bootloader', ['u-boot', 'simulator'] as const);
  if (chosen === 'simulator') return { kind: 'simulator', scriptPath: path(script, 'bootScriptPath') };
  if (script !== undefined) {
    f.problem('bootScriptPath', 'only a simulated device runs the boot script itself: add "bootloader": "simulator" (a device made by sim create), or remove it');
  }
  return { kind: 'u-boot' };
}

/** `etc` {overlayDir, lowerDir}: the pre-init's defaults unless moved (a test's temp dirs). */
function etcLayout(f: Fields, value: unknown, path: (v: unknown, field: string, fallback?: string) => string): AgentConfig['etc'] {
  const o = value === undefined ? {} : f.object(value, 'etc', ['overlayDir', 'lowerDir']);
  return { overlayDir: path(o['overlayDir'], 'etc.overlayDir', DEFAULT_ETC.overlayDir), lowerDir: path(o['lowerDir'], 'etc.lowerDir', DEFAULT_ETC.lowerDir) };
}

function artifacts(f: Fields, value: unknown): string[] {
  if (value === undefined) return [];
  const o = f.object(value, 'artifacts', ['urls']);
  const urls = f.stringArray(o['urls'], 'artifacts.urls');
  urls.forEach((u, i) => { if (!/^https?:\/\/[^/]+/.test(u)) f.problem(`artifacts.urls[${i}]`, `${JSON.stringify(u)} must be an http:// or https:// URL`); });
  return urls;
}

/** The `mqtt` section with the device's id and hardware, which the transport needs and the config keeps at the top. */
function mqttSection(f: Fields, value: unknown, deviceId: string, hardware: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  for (const key of ['deviceId', 'hardware']) {
    if (key in value) f.problem(`mqtt.${key}`, 'set it at the top level of the config, not under mqtt');
  }
  return { ...value, deviceId, hardware };
}

/** The largest agent config read (a few KiB in practice). */
export const AGENT_CONFIG_MAX_BYTES = 1024 * 1024;

/**
 * Parse and validate an agent config file's bytes: strict JSON (the metadata reader's parser: a member
 * named twice in one object is refused, never resolved to its last value), then the schema.
 */
export function parseAgentConfig(text: string | Uint8Array, source: string): AgentConfig {
  let json: unknown;
  const what = `agent config ${source}`;
  try {
    json = parseStrictJson(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, { maxBytes: AGENT_CONFIG_MAX_BYTES, maxDepth: 32 }, what);
  } catch (err) {
    const detail = describe(err).startsWith(`${what}: `) ? describe(err).slice(what.length + 2) : describe(err);
    throw new OtaError('CONFIG_INVALID', `${what}: not valid JSON (${detail}): fix the file`, { cause: err });
  }
  return validateAgentConfig(json, source);
}
