/**
 * The demo's outcome, from the devices' retained status documents: who runs the
 * new release, who tried it and reverted on its own (and the error it reported),
 * who was never offered it; and what the artifact server sent against what
 * shipping the full image to every device would have cost.
 */
import type { DeviceReport } from '../status/index.js';

/** A device that reverted, with the error from its status document. */
export interface Reverted {
  readonly deviceId: string;
  readonly version: number | null;
  readonly booted: string;
  readonly error: string;
  /** The failed checks as its agent logged them. */
  readonly failedChecks: readonly string[];
}

/** What the demo shows at the end (also written as JSON with `--summary-json`). */
export interface DemoSummary {
  readonly rolloutId: string;
  readonly rolloutStatus: string;
  readonly reason?: string;
  readonly stagesPercent: readonly number[];
  readonly failureThresholdPercent: number;
  readonly releaseVersion: number;
  /** The device set up to fail its health check. */
  readonly failingDevice: string;
  readonly updated: readonly string[];
  readonly reverted: readonly Reverted[];
  /** Devices still on the old release with no error: outside the stages a halted rollout reached. */
  readonly untouched: readonly string[];
  readonly bytesSent: number;
  readonly imageSizeBytes: number;
  readonly deltaSizeBytes: number;
  readonly devices: number;
  readonly imageKind: string;
  readonly seconds: number;
}

/** Sort the devices by outcome. */
export function outcomes(ids: readonly string[], reports: ReadonlyMap<string, DeviceReport>, releaseVersion: number,
  checksOf: (deviceId: string) => readonly string[]): Pick<DemoSummary, 'updated' | 'reverted' | 'untouched'> {
  const updated: string[] = [];
  const reverted: Reverted[] = [];
  const untouched: string[] = [];
  for (const id of ids) {
    const r = reports.get(id);
    if (r !== undefined && (r.version ?? 0) >= releaseVersion) updated.push(id);
    else if (r !== undefined && r.lastError !== null) reverted.push({ deviceId: id, version: r.version, booted: r.booted, error: r.lastError, failedChecks: checksOf(id) });
    else untouched.push(id);
  }
  return { updated, reverted, untouched };
}

/** True when a device is at rest on the release, or at rest after an attempt that left an error. */
export function atRest(r: DeviceReport | undefined, releaseVersion: number): boolean {
  return r !== undefined && r.phase === 'idle' && ((r.version ?? 0) >= releaseVersion || r.lastError !== null);
}

/** `1.5 MiB`, `12.0 KiB`, `512 B`. */
export function bytesText(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function list(ids: readonly string[]): string {
  return ids.length === 0 ? 'none' : ids.join(', ');
}

/** The summary as text. */
export function summaryText(s: DemoSummary): string {
  const full = s.imageSizeBytes * s.devices;
  const lines = [
    '',
    `Summary (${s.seconds.toFixed(1)} s)`,
    `  rollout ${s.rolloutId} of release ${s.releaseVersion}: ${s.rolloutStatus}${s.reason === undefined ? '' : ` (${s.reason})`}`,
    `    stages ${s.stagesPercent.map((p) => `${p} %`).join(', ')}; a stage halts the rollout when more than ${s.failureThresholdPercent} % of its devices fail`,
    `  updated to v${s.releaseVersion} and committed (${s.updated.length}): ${list(s.updated)}`,
    `  reverted on their own (${s.reverted.length}):${s.reverted.length === 0 ? ' none' : ''}`,
    ...s.reverted.flatMap((r) => [`    ${r.deviceId}: back on v${r.version ?? '?'} (slot ${r.booted}); its status document says: ${r.error}`,
      ...r.failedChecks.map((c) => `      its agent log: ${c}`)]),
    ...(s.untouched.length === 0 ? [] : [`  never offered v${s.releaseVersion} (outside the halted stage) (${s.untouched.length}): ${list(s.untouched)}`]),
    `  artifact server sent ${bytesText(s.bytesSent)} in all; the full image (${s.imageKind}, ${bytesText(s.imageSizeBytes)}) to each of ${s.devices} devices`
      + ` would be ${bytesText(full)}: ${((s.bytesSent / full) * 100).toFixed(2)} % of it (the delta is ${bytesText(s.deltaSizeBytes)})`,
    '',
  ];
  return lines.join('\n');
}
