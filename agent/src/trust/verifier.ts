/**
 * The verifier the agent uses: one trust directory on the data partition (from
 * config), one device identity, an injected clock. `accept` verifies a notice
 * and, only when it is accepted, persists what it changes; a refusal writes
 * nothing. Calls are serialised so two notices never interleave their writes.
 */
import { checkChannelName, type ImageDigest } from '../formats/index.js';
import { AGENT_BUILD_TIME_MS } from './buildtime.js';
import { followedChannel, type ChannelState } from './channel.js';
import { loadChannelState, loadTrustState, persistAccepted, recordChannelSet, recordFailed, recordInstalled, type RootCache } from './store.js';
import { verifyNotice, type Accepted, type DeviceIdentity, type TrustState } from './verify.js';

/** Where the trust state lives and who the device is. */
export interface TrustConfig {
  /** Directory on the data partition holding root.json and state.json. */
  readonly dir: string;
  readonly device: DeviceIdentity;
  /** Defaults to AGENT_BUILD_TIME. */
  readonly buildTimeMs?: number;
}

/** Options of one decision. */
export interface NoticeOptions {
  /** What the active slot holds (selects a delta for it). */
  readonly current?: ImageDigest;
  /** An artifact the caller means to install, checked against the release and `current`. */
  readonly artifactPath?: string;
}

/** Verifies notices against the persisted trust state. */
export class TrustVerifier {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly rootCache: RootCache = {};

  constructor(private readonly config: TrustConfig, private readonly nowMs: () => number) {}

  /** Decide on a notice without writing anything. */
  check(notice: Uint8Array, options: NoticeOptions = {}): Promise<Accepted> {
    return this.serial(async () => this.decide(await this.load(), notice, options));
  }

  /** Decide on a notice and, if accepted, persist the rotated root, rollout version and time floor. */
  accept(notice: Uint8Array, options: NoticeOptions = {}): Promise<Accepted> {
    return this.serial(async () => {
      const state = await this.load();
      const accepted = this.decide(state, notice, options);
      await persistAccepted(this.config.dir, state, accepted, undefined, this.followed(state));
      return accepted;
    });
  }

  /** The channel the device follows: its trust state's, else the provisioned one. */
  channel(): Promise<string> {
    return this.serial(async () => this.followed(await loadChannelState(this.config.dir)));
  }

  /** `ota-agent channel set`: follow `to`; its floor is never below the version installed now (channel.ts, setLocally). */
  setChannel(to: string): Promise<TrustState> {
    checkChannelName(to, 'ota-agent channel set');
    return this.serial(async () => {
      const state = await this.load();
      return recordChannelSet(this.config.dir, state, this.followed(state), to);
    });
  }

  private followed(state: ChannelState): string {
    return followedChannel(state, this.config.device.channel);
  }

  /** The installed version passed its health check: raise the anti-rollback floor. */
  committed(version: number): Promise<TrustState> {
    return this.serial(async () => recordInstalled(this.config.dir, await this.load(), version));
  }

  /** The version failed its health check: never offer it again on this device. */
  failed(version: number): Promise<TrustState> {
    return this.serial(async () => recordFailed(this.config.dir, await this.load(), version));
  }

  private load(): Promise<TrustState> {
    return loadTrustState(this.config.dir, this.rootCache);
  }

  private decide(state: TrustState, notice: Uint8Array, options: NoticeOptions): Accepted {
    return verifyNotice({
      notice, state, device: this.config.device, nowMs: this.nowMs(),
      buildTimeMs: this.config.buildTimeMs ?? AGENT_BUILD_TIME_MS,
      ...(options.current === undefined ? {} : { current: options.current }),
      ...(options.artifactPath === undefined ? {} : { artifactPath: options.artifactPath }),
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
