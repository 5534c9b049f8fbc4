/**
 * `ota-agent run`: the daemon. Connects to the broker (our reconnect), resumes
 * the journal, feeds notices through the inbox into the machine (one install at
 * a time, duplicates and stale notices ignored), publishes the retained status
 * document after every step, and stops on SIGTERM or when it reboots the device.
 */
import { join } from 'node:path';
import { OtaError, describe } from '../errors/index.js';
import { FileRetryStore, NoticeInbox } from '../machine/index.js';
import type { JournalRecord, State } from '../machine/index.js';
import { HttpRolloutResync, Transport } from '../transport/index.js';
import type { RefusedNoticeStatus, StatusFields } from '../transport/index.js';
import { describeRefusedNotice, trustedRootExpiry } from '../trust/index.js';
import { configuredSource } from '../install/index.js';
import { monotonicClock } from '../time/index.js';
import { bootId } from './boot-id.js';
import { retryingProbe } from './fleet.js';
import { slotDigest } from './device.js';
import type { Opened } from './device.js';
import { deviceStatus } from './lifecycle.js';
import { Session } from './session.js';
import type { RebootMode } from './session.js';

/** The status document's fields, from the same snapshot `status --json` prints. */
export async function statusFields(o: Opened, record: JournalRecord, id: string): Promise<StatusFields> {
  const s = await deviceStatus(o.device, record);
  const slotWord = (n: 'A' | 'B'): string => s.slots[n].state === 'trying' ? 'trial' : s.slots[n].state;
  return {
    version: s.version === null ? 'unknown' : String(s.version), ...(s.name === null ? {} : { name: s.name }), hardware: s.hardware, channel: s.channel, slots: { A: slotWord('A'), B: slotWord('B') }, booted: s.booted,
    phase: s.phase, progress: null, lastError: s.lastUpdate?.error ?? null,
    // The wire keeps both versions as strings (docs/mqtt.md); status --json has both as numbers.
    lastUpdate: s.lastUpdate === null ? null : {
      outcome: s.lastUpdate.outcome, version: s.lastUpdate.version === null ? null : String(s.lastUpdate.version),
      payload: s.lastUpdate.payload, payloadReason: s.lastUpdate.payloadReason, error: s.lastUpdate.error, errorCode: s.lastUpdate.errorCode,
      ...(s.lastUpdate.etcConflicts === undefined ? {} : { etcConflicts: s.lastUpdate.etcConflicts }),
    },
    bootId: id,
    ...await rootExpires(o.config.dataDir),
  };
}

async function rootExpires(dataDir: string): Promise<{ rootExpires?: string }> {
  const expires = await trustedRootExpiry(dataDir);
  return expires === undefined ? {} : { rootExpires: expires };
}

/** The status document reports install progress in steps of 1/PROGRESS_STEPS (bounded publishing). */
const PROGRESS_STEPS = 20;
/** How long a reboot waits for the broker to acknowledge the last status document. */
const STATUS_FLUSH_MS = 3000;

/** What the daemon takes from its caller (the CLI context has both): the wall clock, and the signal that stops it. */
export interface DaemonContext {
  now(): Date;
  readonly signal?: AbortSignal;
}

/** What the status document says of the agent itself, for the fleet's inventory. */
export interface AgentFacts {
  readonly agentVersion: string;
  readonly kernel: string;
}

/** Run until `ctx.signal` fires or the agent reboots the device. */
export async function runDaemon(ctx: DaemonContext, o: Opened, rebootMode: RebootMode, facts?: AgentFacts): Promise<void> {
  const mqtt = o.config.mqtt;
  if (mqtt === undefined) throw new OtaError('CONFIG_INVALID', `agent config ${o.config.source}: run needs an mqtt section (an offline device takes updates with ota-agent install)`);
  // The rollout document is resynced from the artifact mirrors after every connect; a device without mirrors takes MQTT's word.
  const resync = o.config.artifactUrls.length === 0 ? undefined : new HttpRolloutResync({ baseUrls: o.config.artifactUrls, hardware: o.config.hardware });
  const transport = new Transport(mqtt, resync === undefined ? {} : { resync });
  // The channel followed: the trust state's (a signed switch or `channel set` changed it), read again after every run.
  const follow = async (): Promise<void> => { transport.followChannel(await o.device.trust.channel()); };
  await follow();
  const id = await bootId();
  let progress: number | null = null;
  let refused: RefusedNoticeStatus | null = null;
  const session: Session = new Session(o.device, {
    source: configuredSource(o.config, o.device.spoolDir), rebootMode, log: o.log, fleet: retryingProbe(transport),
    // Rest is published by onRun, once the outcome is saved.
    onTransition: (to) => { progress = null; if (to !== 'idle') void publish(to); },
    onProgress: (done, total) => {
      const next = total === 0 ? 1 : Math.floor((done / total) * PROGRESS_STEPS) / PROGRESS_STEPS;
      if (next === progress) return;
      progress = next;
      void publish();
    },
    // The rebooting document is queued by onTransition: see it acknowledged before the reboot command runs.
    beforeReboot: async () => {
      await publishing;
      if (!await transport.flushStatus(STATUS_FLUSH_MS)) o.log.warn(`status: the broker did not acknowledge the last document within ${STATUS_FLUSH_MS} ms; rebooting anyway`);
    },
  }, ctx.signal);
  // One publish at a time, in order: a slow snapshot never overwrites a newer one.
  let publishing = Promise.resolve();
  function publish(phase?: State): Promise<void> {
    // Before the journal is read there is nothing true to say (no last update, no phase): the publish
    // right after `resume` has read it goes out instead. A connect racing the start must not retain a blank.
    if (!session.machine.loaded) return publishing;
    const record = session.machine.current;
    const at = progress;
    publishing = publishing.then(async () => {
      try {
        const fields = await statusFields(o, phase === undefined ? record : { ...record, state: phase }, id);
        transport.publishStatus({ ...fields, ...facts, progress: at, refusedNotice: refused });
      } catch (err) {
        o.log.warn(`status not published: ${describe(err)}`);
      }
    });
    return publishing;
  }
  const inbox = new NoticeInbox({
    identify: async (notice) => {
      try {
        const accepted = await o.device.trust.check(notice, { current: await slotDigest(o.device, await o.device.boot.booted()) });
        refused = null;
        return { version: accepted.release.version, sequence: accepted.rollout.version, epoch: accepted.rolloutEpoch };
      } catch (err) {
        refused = describeRefusedNotice(notice, err, ctx.now());
        // a signed document that leaves this device out (a halt) withdraws the notice a retry holds
        if (refused.reason === 'wrong-device' && refused.rollout !== null) inbox.withdrawnBy(refused.rollout);
        void publish();
        throw err;
      }
    },
    machine: session.machine, signal: session.signal,
    onError: (err) => o.log.error(`update stopped: ${describe(err)}`),
    onRun: () => { void follow().then(() => publish(), (err: unknown) => o.log.warn(`channel: ${describe(err)}`)); },
    // logged before the `invalid` line, so the log says why a notice is not taken (e.g. its release failed here before)
    onInvalid: (err) => o.log.info(`notice refused: ${describe(err)}`),
    retry: {
      policy: o.config.machine.retry, timers: monotonicClock, random: Math.random, store: new FileRetryStore(join(o.config.dataDir, 'retry.json')),
      onStoreError: (err) => o.log.warn(`update: retry count not saved: ${describe(err)}`),
      onRetry: (e) => e.delayMs === undefined
        ? o.log.warn(`update: notice ${e.sequence} failed after ${e.maxRetries} retries; not retried again (a new notice starts over)`)
        : o.log.info(`update: retrying notice ${e.sequence} in ${Math.round(e.delayMs / 1000)} s (retry ${e.retry} of ${e.maxRetries})`, { retryInMs: e.delayMs }),
    },
  });
  transport.on('state', (s) => { if (s.kind === 'connected') void publish(); o.log.event('info', 'mqtt.state', `mqtt: ${s.kind}${s.kind === 'waiting' ? ` retryInMs=${s.delayMs} error=${JSON.stringify(s.lastError)}` : ''}`, { state: s.kind, ...(s.kind === 'waiting' ? { retryInMs: s.delayMs, error: s.lastError } : {}) }); });
  transport.on('warning', (w) => o.log.warn(`mqtt: ${w}`));
  transport.on('resynced', (r) => { if (!r.found) o.log.info('rollout resync: the fleet\'s server has no current rollout document'); });
  transport.on('notice', (m) => {
    void inbox.offer(m.payload).then((what) => o.log.info(`notice from ${m.source}: ${what}`));
  });
  transport.start();
  try {
    await session.resume();
    await publish();
    inbox.kick();
    await new Promise<void>((resolve) => {
      if (session.signal.aborted) resolve();
      session.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await inbox.settled();
  } finally {
    await publish();
    await transport.stop();
  }
}
