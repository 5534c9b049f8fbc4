/**
 * A device agent in a child process for the journal-kill test: the real Machine
 * and FileJournal, with the fake device kept in `DIR/device.json` (atomic writes).
 * Usage: node machine-child.js DIR [KILL_AT SEED] [--unhealthy]
 * Prints `saved STATE` after each journal save; after saving KILL_AT it pauses
 * SEED-derived milliseconds (so the parent's SIGKILL lands at varied points).
 * A reboot exits with code 3 (the parent powers the device on and restarts it);
 * rest exits 0 after printing `rest OUTCOME`.
 */
import { writeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../agent/src/durable/index.js';
import { FileJournal, Machine } from '../../agent/src/machine/index.js';
import type { JournalRecord, JournalStore, Loaded } from '../../agent/src/machine/index.js';
import { FakePorts, fakeNotice, parseDevice } from './fake-device.js';
import type { DeviceState } from './fake-device.js';

/** Exit code of a reboot request. */
export const REBOOT_EXIT = 3;

const [dir, killAt, seedText] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (dir === undefined) throw new Error('usage: machine-child DIR [KILL_AT SEED]');
const seed = Number(seedText ?? '0');
const deviceFile = join(dir, 'device.json');

/** The file journal, announcing each save. */
class AnnouncingJournal implements JournalStore {
  private readonly inner: FileJournal;
  constructor(file: string) { this.inner = new FileJournal(file); }
  load(): Promise<Loaded> { return this.inner.load(); }
  async save(record: JournalRecord): Promise<void> {
    await this.inner.save(record);
    writeSync(1, `saved ${record.state}\n`);
    if (record.state === killAt) await new Promise((r) => setTimeout(r, seed % 4));
  }
}

/** Ports whose reboot ends the process, as a real reboot does. */
class ChildPorts extends FakePorts {
  override async reboot(): Promise<void> {
    writeSync(1, 'reboot\n');
    process.exit(REBOOT_EXIT);
  }
}

const device: DeviceState = parseDevice(readFileSync(deviceFile, 'utf8'));
const ports = new ChildPorts(device, () => undefined, (d) => writeFileAtomic(deviceFile, JSON.stringify(d)));
ports.healthy = !process.argv.includes('--unhealthy');
const machine = new Machine(ports, new AnnouncingJournal(join(dir, 'journal.json')));
const signal = new AbortController().signal;
let result = await machine.resume(signal);
if (result.kind === 'rest' && result.record.last === undefined) {
  result = await machine.start(fakeNotice({ version: 2, sequence: 1, image: 'v2-image' }), signal);
}
writeSync(1, `rest ${result.kind === 'rest' ? result.record.last?.outcome ?? 'none' : 'stopped'}\n`);
