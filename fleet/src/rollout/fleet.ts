/**
 * The rollout's view of the registry: opened beside the state file (or at the rollout's `--database`),
 * fed with every status document the controller sees, and asked which devices were removed: a removed
 * (decommissioned) device takes no part in a rollout's arithmetic.
 */
import { dirname } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { openRegistry, type Registry } from '../registry/index.js';
import type { DeviceReport } from '../status/index.js';

/** The registry of the rollout kept in `file` (`database` as given to rollout start, else the SQLite file beside it). */
export function rolloutRegistry(file: string, database: string | undefined, nowMs: number): Promise<Registry> {
  return openRegistry(database, dirname(file), nowMs);
}

/** The reports of devices in service (not removed in the registry). */
export async function inService(registry: Registry, reports: Iterable<DeviceReport>): Promise<DeviceReport[]> {
  const removed = new Set(await registry.removedDevices());
  return [...reports].filter((r) => !removed.has(r.deviceId));
}

/**
 * The group's members (in service) when a rollout targets `group`, checked with its canaries: each canary
 * must have reported, be of the release's hardware, in service, and in the group when there is one.
 */
export async function targetMembers(registry: Registry, group: string | undefined, canaries: readonly string[], reports: readonly DeviceReport[], hardware: readonly string[]): Promise<string[] | undefined> {
  const members = group === undefined ? undefined : await registry.groupMembers(group);
  if (members !== undefined && members.length === 0) {
    throw new OtaError('ROLLOUT_NO_DEVICES', `rollout start: group ${group ?? ''} has no device in service (ota-fleet group show ${group ?? ''}): check its definition, or that its devices reported`);
  }
  const seen = new Map(reports.map((r) => [r.deviceId, r]));
  for (const c of canaries) {
    const r = seen.get(c);
    const why = r === undefined ? 'gave no status document (or was removed)'
      : r.hardware !== undefined && !hardware.includes(r.hardware) ? `is of hardware ${r.hardware}, not ${hardware.join(', ')}`
        : members !== undefined && !members.includes(c) ? `is not in group ${group ?? ''}` : undefined;
    if (why !== undefined) throw new OtaError('ROLLOUT_CANARY_REFUSED', `--canary ${c}: the device ${why}: name devices of the rollout's audience (ota-fleet device list${group === undefined ? '' : ` --group ${group}`})`);
  }
  return members;
}
