/**
 * A fake device for the state machine: two slots, a boot env model (primary,
 * slot state, try counter, boot and refill counters), a model of bootloader/boot.cmd,
 * and MachinePorts over them with faults injectable per port. The real counterparts are BootControl on a
 * file-backed env with the boot-script simulator (agent/src/boot) and the
 * downloader + delta decoder; they plug into the same ports.
 * State is plain JSON so a child process can keep it in a file (`onChange`).
 */
import type { BootCounters, Job, JournalRecord, JournalStore, Loaded, MachinePorts, Report, SlotPair, VerifiedNotice } from '../../agent/src/machine/index.js';
import { decodeJournal, encodeJournal } from '../../agent/src/machine/index.js';

/**
 * One slot as the env and the disk see it: `bad` is out of BOOT_ORDER; `good` and `trial` are in it,
 * with `tries` left (BOOT_x_LEFT; the script spends one per boot of the slot, committed or not).
 */
export interface FakeSlot { state: 'good' | 'trial' | 'bad'; tries: number; content: string }

/** The whole device. */
export interface DeviceState {
  primary: string;
  booted: string;
  slots: Record<string, FakeSlot>;
  reports: Report[];
  /** OTA_BOOT_COUNT: one more on every run of the boot script; the running boot's number. */
  boots: number;
  /** OTA_EXHAUSTED: how many times no slot in the order had tries left (the script refilled them). */
  exhausted: number;
  /** Boots to come whose system never reaches the agent (a watchdog reset or a power cut during boot). */
  unseen: number;
}

/** The notice the fake verifier understands (JSON). */
export interface FakeNotice { version: number; sequence: number; image: string; valid?: boolean; epoch?: string }

/** Encode a fake notice. */
export function fakeNotice(n: FakeNotice): Uint8Array {
  return Buffer.from(JSON.stringify(n));
}

/** A fault injected into one port: thrown error, hang until aborted, power cut before or after the work. */
export type Fault = 'error' | 'hang' | 'cutBefore' | 'cutAfter';
/** The port names faults attach to. */
export type PortName = 'verify' | 'install' | 'verifySlot' | 'arm' | 'reboot' | 'health' | 'commit' | 'revert' | 'report';

/** Tries the boot script and the agent give a slot (ota_tries, the agent's `tries`). */
export const TRIES = 3;

/** A fresh device booted once into A (its tries refilled by post-boot), committed, with `content` in A; B is out of the boot order. */
export function freshDevice(content = 'v1'): DeviceState {
  return { primary: 'A', booted: 'A', boots: 1, exhausted: 0, unseen: 0, reports: [],
    slots: { A: { state: 'good', tries: TRIES, content }, B: { state: 'bad', tries: 0, content: '' } } };
}

const other = (slot: string): string => (slot === 'A' ? 'B' : 'A');

/** Images whose content starts with this never reach userspace (the kernel panics). */
export const BROKEN = 'broken';

/** The env lost (a torn single copy): the bootloader starts from the script's defaults, `A B` with full tries and counters at 0. */
export function loseEnv(d: DeviceState): void {
  Object.assign(d, { primary: 'A', boots: 0, exhausted: 0 });
  for (const slot of Object.values(d.slots)) Object.assign(slot, { state: 'good', tries: TRIES });
}

/**
 * What post-boot does once the machine rests (agent/src/device/lifecycle.ts, refreshBooted): the running
 * committed slot gets its tries back, which the boots an update took have spent.
 */
export function refreshBooted(d: DeviceState): void {
  const slot = d.slots[d.booted];
  if (slot?.state === 'good') slot.tries = TRIES;
}

/** BOOT_ORDER: the primary first, then the other, without the slots out of it. */
function order(d: DeviceState): string[] {
  return [d.primary, other(d.primary)].filter((s) => d.slots[s]?.state !== 'bad');
}

/** The slot the script boots next (UBootControl's nextBootSlot): the first in the order with tries, else the first. */
export function nextBoot(d: DeviceState): string {
  const inOrder = order(d);
  return inOrder.find((s) => (d.slots[s]?.tries ?? 0) > 0) ?? inOrder[0] ?? 'A';
}

/**
 * bootloader/boot.cmd at power-on, run after run until a kernel boots: the first slot in the order
 * with tries left boots and spends one, committed or on trial; with none left, the script refills
 * every slot in the order (an empty order becomes `A B`), counts the refill and resets. A slot whose
 * image is broken resets at once (no agent runs), until the counters move on; so do the next
 * `unseen` boots of any slot.
 */
export function powerOn(d: DeviceState): void {
  for (let guard = 0; guard < 30; guard++) {
    d.boots++;
    if (order(d).length === 0) {
      d.primary = 'A';
      for (const slot of Object.values(d.slots)) slot.state = 'good';
    }
    const chosen = order(d).find((s) => (d.slots[s]?.tries ?? 0) > 0);
    if (chosen === undefined) {
      for (const s of order(d)) Object.assign(d.slots[s] ?? {}, { tries: TRIES });
      d.exhausted++;
      continue;
    }
    const slot = d.slots[chosen];
    if (slot === undefined) throw new Error(`no slot ${chosen}`);
    slot.tries--;
    d.booted = chosen;
    if (slot.content.startsWith(BROKEN)) continue;
    if (d.unseen === 0) return;
    d.unseen--;
  }
  throw new Error('fake device: no kernel booted after 30 runs of the boot script');
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
    return { version: 0, sequence: 0, image: n.image };
  }

  async verify(notice: Uint8Array, signal: AbortSignal): Promise<VerifiedNotice> {
    const f = await this.fault('verify', signal);
    const n: unknown = JSON.parse(Buffer.from(notice).toString('utf8'));
    if (typeof n !== 'object' || n === null || !('version' in n) || !('sequence' in n)) throw new Error('bad fake notice');
    if ('valid' in n && n.valid === false) throw new Error('notice signature invalid');
    if (typeof n.version !== 'number' || typeof n.sequence !== 'number') throw new Error('bad fake notice');
    await this.done(f);
    const epoch = 'epoch' in n && typeof n.epoch === 'string' ? { epoch: n.epoch } : {};
    return { version: n.version, sequence: n.sequence, ...epoch };
  }

  async slots(): Promise<SlotPair> {
    return { booted: this.device.booted, inactive: other(this.device.booted), primary: nextBoot(this.device) };
  }

  async bootCounters(): Promise<BootCounters> {
    return { boot: String(this.device.boots), exhausted: this.device.exhausted };
  }

  async install(job: Job, signal: AbortSignal, checkpoint: (p: number) => Promise<void>): Promise<void> {
    const f = await this.fault('install', signal);
    const image = this.notice(job).image;
    const slot = this.slot(job.target);
    // As the real install: the slot being written leaves the boot order first.
    Object.assign(slot, { state: 'bad', tries: 0 });
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
    const slot = this.slot(target);
    return slot.state === 'good' && slot.tries > 0;
  }

  async arm(job: Job): Promise<void> {
    const f = await this.fault('arm');
    Object.assign(this.slot(job.target), { state: 'trial', tries: TRIES });
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
    Object.assign(this.slot(job.target), { state: 'good', tries: TRIES });
    this.device.primary = job.target ?? this.device.primary;
    await this.done(f);
  }

  async revert(job: Job): Promise<void> {
    const f = await this.fault('revert');
    const d = this.device;
    const keep = job.target !== undefined && job.previous !== undefined ? job.previous
      : (this.slot(d.booted).state === 'good' ? d.booted : other(d.booted));
    Object.assign(this.slot(other(keep)), { state: 'bad', tries: 0 });
    d.primary = keep;
    // As the real revert: the slot kept gets its tries back when it is the one running (markGood).
    if (d.booted === keep) Object.assign(this.slot(keep), { state: 'good', tries: TRIES });
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
  const { primary, booted, boots, exhausted, unseen, slots, reports } = rec;
  if (typeof primary !== 'string' || typeof booted !== 'string' || typeof boots !== 'number' || typeof exhausted !== 'number' || typeof unseen !== 'number') return fail();
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
    return { outcome, version: typeof version === 'number' ? version : undefined,
      sequence: typeof sequence === 'number' ? sequence : undefined, error: typeof error === 'string' ? error : undefined };
  });
  return { primary, booted, boots, exhausted, unseen, slots: parsedSlots, reports: parsedReports };
}
