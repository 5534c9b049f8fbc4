/**
 * Why a notice or a metadata document was refused. Each reason names the
 * attack (or the defect) it stops; `ota-agent verify` prints it as the error
 * code, and tests match on it. docs/trust.md lists where each one is checked.
 */
import { OtaError } from '../../errors/index.js';

/** Every refusal reason, in the order the checks run. */
export const REFUSAL_REASONS = [
  'oversize',            // payload larger than the cap, refused before parsing
  'malformed',           // not UTF-8 JSON, or a field of the wrong type or range
  'duplicate-key',       // the same member twice in one JSON object
  'too-deep',            // nesting deeper than the cap
  'non-canonical',       // bytes are not the canonical JSON of what they parse to (re-serialised)
  'newer-spec',          // a document whose specVersion major is newer than this agent reads (update the agent first)
  'unsigned',            // no signature at all
  'malformed-signature', // keyid or sig not lowercase hex of the right length
  'malleable-signature', // S >= L: a malleated copy of a valid signature
  'unknown-key',         // signed only by keys the trusted root does not name
  'wrong-role',          // signed by a key of another role (e.g. the rollout key signing a release)
  'bad-signature',       // a signature by an authorised key does not verify (a flipped byte)
  'threshold',           // fewer distinct authorised keys than the role's threshold
  'rotation-gap',        // a new root that does not follow the trusted one by exactly one version
  'expired',             // past `expires` by the time floor
  'rollback',            // a lower version than already installed or seen
  'version-jump',        // a rollout version further above the accepted one than any fleet counts (a stolen key fast-forwarding)
  'already-installed',   // the installed version itself: nothing to do
  'failed-before',       // a version that already failed its health check here
  'mix-and-match',       // parts that were not signed together (rollout vs release, delta vs base)
  'wrong-hardware',      // the release is not built for this hardware
  'wrong-device',        // the rollout does not target this device or its cohort
  'replay',              // a channel switch already used here (its counter is not above the last accepted)
  'unknown-channel',     // a channel switch to a channel the release does not list (not one the vendor publishes it on)
  'retired-channel',     // a channel switch to a channel whose current release or rollout expired (the vendor retired it)
] as const;

/** One refusal reason. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/**
 * A refusal: an OtaError whose `code` is the reason itself (`rollback`,
 * `threshold`...), so the CLI frame prints `... [rollback]`.
 */
export class Refusal extends OtaError {
  /** The typed reason (same string as `code`). */
  readonly reason: RefusalReason;

  constructor(reason: RefusalReason, message: string, options: { cause?: unknown } = {}) {
    super(reason, message, options);
    this.name = 'Refusal';
    this.reason = reason;
  }
}

/** True when `err` is a Refusal for `reason` (any reason when omitted). */
export function isRefusal(err: unknown, reason?: RefusalReason): err is Refusal {
  return err instanceof Refusal && (reason === undefined || err.reason === reason);
}

/**
 * The last notice a device refused, as its status document reports it, so the
 * fleet sees why a device did not move. Bounded: a code, two numbers, a time.
 */
export interface RefusedNotice {
  /** The refusal reason (`rollback`, `wrong-device`...) or another error's code. */
  readonly reason: string;
  /** The release and rollout versions the notice names, when it could be read that far. */
  readonly release: number | null;
  readonly rollout: number | null;
  /** When the device refused it (its clock), ISO 8601. */
  readonly at: string;
}

const CODE = /^[A-Za-z0-9_-]{1,40}$/;

/** The RefusedNotice of `err`, the error that refused a notice whose parsed parts (maybe) name `versions`. */
export function refusedNotice(err: unknown, versions: { release?: number; rollout?: number }, at: Date): RefusedNotice {
  const code = err instanceof OtaError ? err.code : 'error';
  return { reason: CODE.test(code) ? code : 'error', release: versions.release ?? null, rollout: versions.rollout ?? null, at: at.toISOString() };
}

/** A RefusedNotice read back from a status document (anything else is undefined: an older agent, or garbage). */
export function readRefusedNotice(v: unknown): RefusedNotice | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const version = (x: unknown): number | null | undefined => (x === null ? null : typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : undefined);
  const reason: unknown = Reflect.get(v, 'reason');
  const at: unknown = Reflect.get(v, 'at');
  const release = version(Reflect.get(v, 'release'));
  const rollout = version(Reflect.get(v, 'rollout'));
  if (typeof reason !== 'string' || !CODE.test(reason) || typeof at !== 'string' || at.length > 40 || release === undefined || rollout === undefined) return undefined;
  return { reason, release, rollout, at };
}
