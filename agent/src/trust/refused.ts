/**
 * What a device reports about a notice it refused: the reason and, when the
 * notice can be read that far, the release and rollout versions it names.
 */
import { fields, readNotice, refusedNotice, type Envelope, type RefusedNotice } from '../formats/index.js';

function versionOf(env: Envelope): number | undefined {
  const v = fields.member(env.signed, 'version');
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** The status report of `notice`, refused with `err` at `at`. */
export function describeRefusedNotice(notice: Uint8Array, err: unknown, at: Date): RefusedNotice {
  let versions: { release?: number; rollout?: number } = {};
  try {
    const n = readNotice(notice);
    const release = versionOf(n.release);
    const rollout = versionOf(n.rollout);
    versions = { ...(release === undefined ? {} : { release }), ...(rollout === undefined ? {} : { rollout }) };
  } catch {
    // Unreadable (oversize, malformed): the reason alone says why.
  }
  return refusedNotice(err, versions, at);
}
