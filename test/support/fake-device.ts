/**
 * A fake device for the state machine: two slots, a boot env model (primary,
 * slot state, try counter), a boot-script model, and MachinePorts over them with
 * faults injectable per port. The real counterparts are BootControl on a
 * file-backed env with the boot-script simulator (agent/src/boot) and the
 * downloader + delta decoder; they plug into the same ports.
 * State is plain JSON so a child process can keep it in a file (`onChange`).
 */
import type { Job, JournalRecord, JournalStore, Loaded, MachinePorts, Report, SlotPair, VerifiedNotice } from '../../agent/src/machine/index.js';
import { decodeJournal, encodeJournal } from '../../agent/src/machine/index.js';

/** One slot as the env and the disk see it. */
export interface FakeSlot { state: 'good' | 'trial' | 'bad'; tries: number; content: string }

/** The whole device. */
export interface DeviceState {
  primary: string;
  booted: string;
  slots: Record<string, FakeSlot>;
  reports: Report[];
  boots: number;
}

/** The notice the fake verifier understands (JSON). */
export interface FakeNotice { version: string; sequence: number; image: string; valid?: boolean }

/** Encode a fake notice. */
export function fakeNotice(n: FakeNotice): Uint8Array {
  return Buffer.from(JSON.stringify(n));
}

/** A fault injected into one port: thrown error, hang until aborted, power cut before or after the work. */
export type Fault = 'error' | 'hang' | 'cutBefore' | 'cutAfter';
/** The port names faults attach to. */
export type PortName = 'verify' | 'install' | 'verifySlot' | 'arm' | 'reboot' | 'health' | 'commit' | 'revert' | 'report';

/** A fresh device booted into A, committed, with `content` in A. */
export function freshDevice(content = 'v1'): DeviceState {
  return { primary: 'A', booted: 'A', boots: 0, reports: [],
    slots: { A: { state: 'good', tries: 0, content }, B: { state: 'good', tries: 0, content: '' } } };
}

const other = (slot: string): string => (slot === 'A' ? 'B' : 'A');

/** Images whose content starts with this never reach userspace (the kernel panics). */
export const BROKEN = 'broken';

/** The env lost (a torn single copy): the bootloader starts from the script's defaults, `A B` with full tries. */
export function loseEnv(d: DeviceState): void {
  d.primary = 'A';
  for (const slot of Object.values(d.slots)) Object.assign(slot, { state: 'good', tries: 0 });
}

/**
 * The boot script as U-Boot runs it at power-on: a primary slot on trial uses one
 * try; with no try left it is marked bad and the other slot boots. A slot whose
 * image is broken reboots at once (no agent runs), until the counters fall back.
 */
export function powerOn(d: DeviceState): void {
  for (let guard = 0; guard < 10; guard++) {
    d.boots++;
    const slot = d.slots[d.primary];
    if (slot === undefined) throw new Error(`no slot ${d.primary}`);
    if (slot.state === 'bad' || (slot.state === 'trial' && slot.tries === 0)) {
      slot.state = 'bad';
      d.primary = other(d.primary);
      d.booted = d.primary;
    } else {
      if (slot.state === 'trial') slot.tries--;
      d.booted = d.primary;
    }
    if (!d.slots[d.booted]?.content.startsWith(BROKEN)) return;
  }
}

/** Ports over a DeviceState, with faults; `cut` is how a power cut stops the runner. */
export class FakePorts implements MachinePorts {
  /** Faults by port: each fires once, then is removed, unless its port is in `sticky`. */
  readonly faults = new Map<PortName, Fault>();
  /** Ports whose fault fires every time (a crash loop). */
  readonly sticky = new Set<PortName>();
  /** Health check result. */
  healthy = true;

  constructor(readonly device: DeviceState, private readonly cut: () => void,
    private readonly onChange: (d: DeviceState) => Promise<void> = async () => undefined) {}

  private async fault(port: PortName, signal?: AbortSignal): Promise<'cutAfter' | undefined> {
    const f = this.faults.get(port);
    if (f === undefined) return undefined;
    if (!this.sticky.has(port)) this.faults.delete(port);
    if (f === 'error') throw new Error(`injected error in ${port}`);
    if (f === 'cutBefore') { this.cut(); return new Promise(() => undefined); }
    if (f === 'hang') {
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    return 'cutAfter';
  }

  private async done(f: 'cutAfter' | undefined): Promise<void> {
    await this.onChange(this.device);
    if (f === 'cutAfter') { this.cut(); await new Promise(() => undefined); }
  }

  private slot(name: string | undefined): FakeSlot {
    const s = name === undefined ? undefined : this.device.slots[name];
    if (s === undefined) throw new Error(`no slot ${String(name)}`);
    return s;
  }

  private notice(job: Job): FakeNotice {
    const n: unknown = JSON.parse(Buffer.from(job.noticeBase64, 'base64').toString('utf8'));
    if (typeof n !== 'object' || n === null || !('image' in n) || typeof n.image !== 'string') throw new Error('bad fake notice');
    return { version: '', sequence: 0, image: n.image };
  }

  async verify(notice: Uint8Array, signal: AbortSignal): Promise<VerifiedNotice> {
    const f = await this.fault('verify', signal);
    const n: unknown = JSON.parse(Buffer.from(notice).toString('utf8'));
    if (typeof n !== 'object' || n === null || !('version' in n) || !('sequence' in n)) throw new Error('bad fake notice');
    if ('valid' in n && n.valid === false) throw new Error('notice signature invalid');
    if (typeof n.version !== 'string' || typeof n.sequence !== 'number') throw new Error('bad fake notice');
    await this.done(f);
    return { version: n.version, sequence: n.sequence };
  }

  async slots(): Promise<SlotPair> {
    return { booted: this.device.booted, inactive: other(this.device.booted), primary: this.device.primary };
  }

  async install(job: Job, signal: AbortSignal, checkpoint: (p: number) => Promise<void>): Promise<void> {
    const f = await this.fault('install', signal);
    const image = this.notice(job).image;
    const slot = this.slot(job.target);
    slot.content = image.slice(0, job.progress) + image.slice(job.progress, Math.ceil(image.length / 2));
    await this.onChange(this.device);
    await checkpoint(Math.ceil(image.length / 2));
    slot.content = image;
    await this.done(f);
  }

  async verifySlot(job: Job, signal: AbortSignal): Promise<void> {
    const f = await this.fault('verifySlot', signal);
    if (this.slot(job.target).content !== this.notice(job).image) throw new Error(`slot ${String(job.target)} digest mismatch`);
    await this.done(f);
  }

  async envLost(target: string): Promise<boolean> {
    return this.slot(target).state === 'good';
  }

  async arm(job: Job): Promise<void> {
    const f = await this.fault('arm');
    Object.assign(this.slot(job.target), { state: 'trial', tries: 3 });
    this.device.primary = job.target ?? this.device.primary;
    await this.done(f);
  }

  async reboot(): Promise<void> {
    const f = await this.fault('reboot');
    powerOn(this.device);
    await this.done(f);
  }

  async health(_job: Job, signal: AbortSignal): Promise<boolean> {
    const f = await this.fault('health', signal);
    await this.done(f);
    return this.healthy;
  }

  async commit(job: Job): Promise<void> {
    const f = await this.fault('commit');
    Object.assign(this.slot(job.target), { state: 'good', tries: 0 });
    this.device.primary = job.target ?? this.device.primary;
    await this.done(f);
  }

  async revert(job: Job): Promise<void> {
    const f = await this.fault('revert');
    if (job.target !== undefined && job.previous !== undefined) {
      this.slot(job.target).state = 'bad';
      this.device.primary = job.previous;
    } else {
      const booted = this.slot(this.device.booted);
      this.device.primary = booted.state === 'good' ? this.device.booted : other(this.device.booted);
    }
    await this.done(f);
  }

  async report(report: Report): Promise<void> {
    const f = await this.fault('report');
    this.device.reports.push(report);
    await this.done(f);
  }
}

/** A journal kept in memory as the encoded text (so the codec runs), with corruption on demand. */
export class MemoryJournal implements JournalStore {
  text: string | undefined;
  saves = 0;

  async load(): Promise<Loaded> {
    return this.text === undefined ? { kind: 'empty' } : decodeJournal(this.text);
  }

  async save(record: JournalRecord): Promise<void> {
    this.saves++;
    this.text = encodeJournal(record);
  }
}

/** Parse a device file written by a child process (validated, not cast). */
export function parseDevice(text: string): DeviceState {
  const v: unknown = JSON.parse(text);
  const fail = (): never => { throw new Error(`not a fake device file: ${text.slice(0, 80)}`); };
  if (typeof v !== 'object' || v === null) return fail();
  const rec = Object.fromEntries(Object.entries(v));
  const { primary, booted, boots, slots, reports } = rec;
  if (typeof primary !== 'string' || typeof booted !== 'string' || typeof boots !== 'number') return fail();
  if (typeof slots !== 'object' || slots === null || !Array.isArray(reports)) return fail();
  const parsedSlots: Record<string, FakeSlot> = {};
  for (const [name, s] of Object.entries(slots)) {
    if (typeof s !== 'object' || s === null) return fail();
    const { state, tries, content } = Object.fromEntries(Object.entries(s));
    if ((state !== 'good' && state !== 'trial' && state !== 'bad') || typeof tries !== 'number' || typeof content !== 'string') return fail();
    parsedSlots[name] = { state, tries, content };
  }
  const parsedReports: Report[] = reports.map((r: unknown) => {
    if (typeof r !== 'object' || r === null) return fail();
    const { outcome, version, sequence, error } = Object.fromEntries(Object.entries(r));
    if (outcome !== 'installed' && outcome !== 'reverted' && outcome !== 'rejected' && outcome !== 'failed') return fail();
    return { outcome, version: typeof version === 'string' ? version : undefined,
      sequence: typeof sequence === 'number' ? sequence : undefined, error: typeof error === 'string' ? error : undefined };
  });
  return { primary, booted, boots, slots: parsedSlots, reports: parsedReports };
}
