/**
 * Expiry the operator must hear of before a device does: the signed documents the devices are offered
 * (the retained rollout document of each hardware, and the release it names) carry an expiry, and a
 * device refuses an expired one as `[expired]`. A rollout document nears expiry when under a quarter of
 * its life (issued to expires) is left: the running controller re-signs it at half its life, so a
 * quarter left means nothing has re-signed it for a quarter of its life. A release nears expiry when it
 * expires within one life of its rollout document: a rollout is never signed past its release, so
 * re-signing the rollout no longer helps; the release keys must re-sign it (`ota-fleet resign`).
 * A device's trusted root (its status document's `rootExpires`) nears expiry in its last 30 days, as
 * `ota-agent doctor` says on the device: a rotated root must reach it in a notice before then.
 */
import type { MqttClient } from 'mqtt';
import { describe } from '../../../agent/src/errors/index.js';
import { formatUtcTime, readNotice, readRelease, readRollout } from '../../../agent/src/formats/index.js';
import { TOPIC_ROOT } from '../../../agent/src/transport/index.js';
import { ROOT_EXPIRY_WARN_MS } from '../../../agent/src/device/index.js';
import type { DeviceReport } from './report.js';

/** Every hardware's retained rollout document, of every channel (`<hardware>` for stable, `<hardware>/<channel>`). */
export const ROLLOUT_FILTER = `${TOPIC_ROOT}/rollout/#`;

/** The part of a document's life below which it "nears expiry". */
export const NEAR_EXPIRY_FRACTION = 0.25;

/** Subscribe `client` to the retained rollout documents; the map fills as they arrive (topic -> bytes, cleared ones removed). */
export async function watchRolloutDocuments(client: MqttClient): Promise<ReadonlyMap<string, Uint8Array>> {
  const docs = new Map<string, Uint8Array>();
  const prefix = `${TOPIC_ROOT}/rollout/`;
  client.on('message', (topic, payload) => {
    if (!topic.startsWith(prefix) || topic.slice(prefix.length).split('/').length > 2) return;
    if (payload.length === 0) docs.delete(topic);
    else docs.set(topic, payload);
  });
  await client.subscribeAsync(ROLLOUT_FILTER, { qos: 0 });
  return docs;
}

function days(ms: number): string {
  return `${(ms / 86_400_000).toFixed(1)} days`;
}

/** A warning when `what` (issued at `issuedMs`) has under a quarter of its life left at `nowMs`, or has expired. */
export function lifeWarning(what: string, issuedMs: number, expiresMs: number, nowMs: number, remedy: string): string | undefined {
  const leftMs = expiresMs - nowMs;
  if (leftMs <= 0) return `${what} expired ${formatUtcTime(expiresMs)}: devices refuse it as [expired]; ${remedy}`;
  if (leftMs >= (expiresMs - issuedMs) * NEAR_EXPIRY_FRACTION) return undefined;
  return `${what} expires ${formatUtcTime(expiresMs)} (in ${days(leftMs)}, under a quarter of its life): ${remedy}`;
}

/** The warnings for the rollout documents in `docs` at `nowMs` (one line each; an unreadable document says so). */
export function expiryWarnings(docs: ReadonlyMap<string, Uint8Array>, nowMs: number): string[] {
  const out: string[] = [];
  for (const [topic, bytes] of [...docs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    try {
      const notice = readNotice(bytes);
      const rollout = readRollout(notice.rollout, topic);
      const release = readRelease(notice.release, topic);
      const lifeMs = rollout.expiresMs - rollout.issuedMs;
      const r = lifeWarning(`rollout document ${rollout.version} on ${topic}`, rollout.issuedMs, rollout.expiresMs, nowMs,
        'keep the rollout controller running (ota-fleet rollout run re-signs at half its life) or sign it again');
      if (r !== undefined) out.push(r);
      const leftMs = release.expiresMs - nowMs;
      const what = `release ${release.version} on ${topic}`;
      if (leftMs <= 0) out.push(`${what} expired ${formatUtcTime(release.expiresMs)}: devices refuse it as [expired]; ota-fleet resign where the release keys are`);
      else if (leftMs < lifeMs) out.push(`${what} expires ${formatUtcTime(release.expiresMs)} (in ${days(leftMs)}), before a re-signed rollout would: ota-fleet resign where the release keys are`);
    } catch (err) {
      out.push(`${topic}: not a readable rollout document (${describe(err)})`);
    }
  }
  return out;
}

/** One line for the devices whose trusted root expires within ROOT_EXPIRY_WARN_MS of `nowMs` (or has expired); undefined when none. */
export function rootWarning(reports: Iterable<DeviceReport>, nowMs: number): string | undefined {
  const near = [...reports].filter((r) => r.rootExpiresMs !== undefined && r.rootExpiresMs - nowMs < ROOT_EXPIRY_WARN_MS)
    .sort((a, b) => (a.rootExpiresMs ?? 0) - (b.rootExpiresMs ?? 0) || (a.deviceId < b.deviceId ? -1 : 1));
  const first = near[0];
  if (first === undefined) return undefined;
  const expired = near.filter((r) => (r.rootExpiresMs ?? 0) <= nowMs).length;
  return `the trusted root of ${near.length} device${near.length === 1 ? '' : 's'} expires within ${ROOT_EXPIRY_WARN_MS / 86_400_000} days ` +
    `(first ${first.deviceId}, ${formatUtcTime(first.rootExpiresMs ?? 0)}${expired === 0 ? '' : `; ${expired} already expired: they refuse every notice`}): ` +
    'rotate the root (ota-fleet root rotate) and send a notice, which carries it, before then';
}
