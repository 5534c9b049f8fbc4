/**
 * The ports the state machine drives. Other modules satisfy them with thin
 * adapters (BootControl, the trust verifier, the downloader + delta decoder,
 * health checks, the transport); tests satisfy them with fakes. Every port
 * receives the current job and, for long work, an AbortSignal that fires at the
 * state's deadline.
 */
import type { Job, Outcome } from './journal.js';

/** What the trust verifier tells the machine about an accepted notice. */
export interface VerifiedNotice {
  /** The release version the notice offers (for the status document and the version floor). */
  readonly version: number;
  /** Monotonic notice sequence from the fleet; orders notices (duplicates, stale ones). */
  readonly sequence: number;
  /** The rollout keys that signed it: sequences order notices within one such epoch (see sequence.ts). */
  readonly epoch?: string;
  /** The release channel of the notice (the one the device follows once it is accepted); absent: not told. */
  readonly channel?: string;
}

/** Which slot runs now and which one an update writes into. */
export interface SlotPair {
  /** The slot the bootloader booted (from /proc/cmdline or the env). */
  readonly booted: string;
  /** The other slot: the target of an install. */
  readonly inactive: string;
  /** The slot the bootloader will boot next (BootControl.primary). */
  readonly primary: string;
}

/**
 * The bootloader's counters of the running boot: which boot this is, and how often every slot
 * ran out of tries. Recorded when a trial is armed, they tell a trial that never began (the same
 * boot) from one whose boots came and went without the agent (another boot, or a refill).
 */
export interface BootCounters {
  /** This boot's number as the bootloader passed it (`ota.boot=`); null when it passed none. */
  readonly boot: string | null;
  /** How many times the bootloader found no slot with tries left and refilled them (`OTA_EXHAUSTED`). */
  readonly exhausted: number;
}

/** Called by a long step to record durable progress; resets the step's save counter. */
export type Checkpoint = (progress: number) => Promise<void>;

/** The final report of one update, recorded for the status document. */
export interface Report {
  readonly outcome: Outcome;
  readonly version: number | undefined;
  readonly sequence: number | undefined;
  readonly error: string | undefined;
}

/** Everything the machine needs from the rest of the agent. */
export interface MachinePorts {
  /** Verify a notice (signature, expiry, version floor, hardware); throw to refuse it. */
  verify(notice: Uint8Array, signal: AbortSignal): Promise<VerifiedNotice>;
  /** The booted and the inactive slot. */
  slots(): Promise<SlotPair>;
  /** The bootloader's counters of the running boot. */
  bootCounters(): Promise<BootCounters>;
  /**
   * During a trial that the old slot booted: true when the bootloader holds `target` as a committed slot
   * (in the boot order, tries left, not on trial). No fall-back does that; the boot script's defaults
   * after a lost env do, so the trial never ran.
   */
  envLost(target: string): Promise<boolean>;
  /** Download and apply, streamed into `job.target`; resumes from `job.progress`. */
  install(job: Job, signal: AbortSignal, checkpoint: Checkpoint): Promise<void>;
  /** Read `job.target` back and compare with the manifest digest; throw on mismatch. */
  verifySlot(job: Job, signal: AbortSignal): Promise<void>;
  /** One env write: `job.target` primary, on trial (BootControl.setPrimary). Idempotent. */
  arm(job: Job): Promise<void>;
  /** Reboot. On a device this does not return; a simulator boots and returns. */
  reboot(job: Job): Promise<void>;
  /** Run the health check in the trial boot; true when every required check passed. */
  health(job: Job, signal: AbortSignal): Promise<boolean>;
  /** One env write: `job.target` good (BootControl.markGood). Idempotent. */
  commit(job: Job): Promise<void>;
  /**
   * One env write: `job.target` bad and `job.previous` primary. Idempotent. With no target
   * (the journal was lost or corrupt) make the last committed slot primary.
   */
  revert(job: Job): Promise<void>;
  /** Record the outcome (status document, outbox). */
  report(report: Report): Promise<void>;
}
