/**
 * The retained status document a device publishes at `ota/v1/<id>/status`.
 * The transport adds the device id, a sequence number (monotonic per boot: order
 * documents by `bootId` then `seq`) and the time; the rest comes from the agent.
 */

/** The last update that reached rest: how it ended and which release it was about. */
export interface LastUpdateStatus {
  /** The machine's recorded outcome (`installed` = committed, `reverted`, `failed`). */
  readonly outcome: string;
  /** The release version as the notice gave it; null when the update never got that far. */
  readonly version: string | null;
  /** What it installed: `delta` or `full` (the full image); null when it never chose; absent from older agents. */
  readonly payload?: string | null;
  /** Why that payload: `base-matches`, `base-drifted` (the booted slot was not the delta's base), `no-delta-for-base`. */
  readonly payloadReason?: string | null;
  /** Files in /etc the device changed that the release changed too (the device's kept; at most 64); absent: not checked. */
  readonly etcConflicts?: readonly string[];
  /** Why it failed: the error's message, and its stable code (`DOWNLOAD_HTTP`...) when it was typed; null after a success; absent from older agents. */
  readonly error?: string | null;
  readonly errorCode?: string | null;
}

/** The last notice the device refused (see RefusedNotice in formats): reason code, release and rollout versions, time. */
export interface RefusedNoticeStatus {
  readonly reason: string;
  readonly release: number | null;
  readonly rollout: number | null;
  readonly at: string;
}

/** What the agent reports. */
export interface StatusFields {
  /** The committed (or running) release version. */
  readonly version: string;
  /** Its human version (`release --name`); absent when it has none, or from older agents. */
  readonly name?: string;
  /** The device's hardware type (the rollout topic it listens on). */
  readonly hardware: string;
  /** The release channel the device follows; absent from agents without channels (read as `stable`). */
  readonly channel?: string;
  /** Slot name -> state (`good`, `trial`, `bad`). */
  readonly slots: Readonly<Record<string, string>>;
  readonly booted: string;
  /** The machine's state (`idle`, `installing`, `checking`...). */
  readonly phase: string;
  /** Install progress 0..1, or null when no install runs. */
  readonly progress: number | null;
  readonly lastError: string | null;
  /** The last update that reached rest (the same as `ota-agent status --json`), null before the first. */
  readonly lastUpdate: LastUpdateStatus | null;
  /** The kernel's boot id (/proc/sys/kernel/random/boot_id). */
  readonly bootId: string;
  /** The last notice refused since the agent started (cleared when one is taken), so the fleet sees why a device did not move. */
  readonly refusedNotice?: RefusedNoticeStatus | null;
  /** When the device's trusted root expires (UTC, as in the metadata), so the fleet sees a root to rotate before notices are refused. */
  readonly rootExpires?: string;
  /** The agent's own version (`ota-agent --version`), for the fleet's inventory. */
  readonly agentVersion?: string;
  /** The running kernel's release (`uname -r`). */
  readonly kernel?: string;
  /** Network facts as string pairs (interface -> address), when the agent reports them. */
  readonly network?: Readonly<Record<string, string>>;
  /** Vendor inventory attributes (name -> value; the fleet keeps 64 of at most 256 characters each). */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** The document on the wire. */
export interface StatusDocument extends StatusFields {
  readonly schema: 'ota-status/1';
  readonly deviceId: string;
  readonly seq: number;
  /** ISO-8601 time of publication (the device clock: informative only). */
  readonly updatedAt: string;
}

/** Build the wire document. */
export function statusDocument(fields: StatusFields, deviceId: string, seq: number, now: Date): StatusDocument {
  return { schema: 'ota-status/1', deviceId, seq, updatedAt: now.toISOString(), ...fields };
}
