/**
 * One emulated device of a scenario test: its own copy of the image (and NOR flash bank when
 * the board keeps U-Boot's env there), provisioned for a fleet, booted once per QEMU process.
 * A guest reboot ends QEMU (Machine exitOnReboot), so between boots the test reads the stored
 * env on the host, with fw_printenv and with our codec, and asks the boot-script simulator
 * which slot the next boot takes; `boot()` then starts the board again.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvVars } from '../../../agent/src/bootenv/index.js';
import { blankFlash, fatEnvStore, flashEnvStore, type EnvStore } from './env-store.js';
import { copyDisk, flipBytes, type ImageLayout } from './image.js';
import { Machine, type GuestForward, type QemuBuild } from './machine.js';
import { guestAgentConfig, partitionDigest, provisionDataPartition, type GuestAgentOptions } from './provision.js';
import { simulateRuns, stateVars } from './simulate.js';
import type { GuestFleet } from './guest-fleet.js';

/** How to make the device. */
export interface GuestDeviceOptions {
  layout: ImageLayout;
  /** A folder of this device's own (created). */
  workDir: string;
  /** Folder for the serial logs of boot N (1, 2, ...): e.g. `(n) => logDirFor(\`${board}-update-boot-${n}\`)`. */
  logDir: (boot: number) => string;
  qemu?: QemuBuild;
  /** The U-Boot QEMU runs (-bios); Debian's u-boot-qemu by default. */
  biosPath?: string;
  deviceId?: string;
  /** Fleet to provision for (broker, mirror, trusted root); the device is offline without one, and then needs `rootBytes`. */
  fleet?: GuestFleet;
  rootBytes?: Uint8Array;
  /** More agent.json settings (health checks, tries). */
  agent?: Omit<GuestAgentOptions, 'deviceId' | 'mqtt' | 'artifactPorts'>;
  /** Files on the data partition besides the agent's. */
  extraFiles?: Readonly<Record<string, string>>;
  watchdog?: boolean;
}

/** What the host reads of the stored env between boots: both readers, which the caller compares. */
export interface EnvReading {
  fwPrintenv: Map<string, string>;
  codec: EnvVars;
}

/** A provisioned emulated device. */
export class GuestDevice {
  readonly disk: string;
  readonly flash: string | undefined;
  readonly env: EnvStore;
  readonly deviceId: string;
  /** The simulator's prediction for the first boot of each QEMU run, from the env stored before it (null: no slot). */
  readonly predictedSlots: (string | null)[] = [];
  readonly #machines: Machine[] = [];
  #blankFlash: boolean;

  private constructor(readonly o: GuestDeviceOptions) {
    mkdirSync(o.workDir, { recursive: true });
    this.disk = copyDisk(o.layout, join(o.workDir, 'disk.img'));
    this.flash = o.layout.env.placement === 'native' ? blankFlash(join(o.workDir, 'flash1.img')) : undefined;
    this.#blankFlash = this.flash !== undefined;
    this.env = this.flash === undefined ? fatEnvStore(this.disk, o.layout, o.workDir) : flashEnvStore(this.flash, o.layout, o.workDir);
    this.deviceId = o.deviceId ?? 'qemu-1';
  }

  /** Copies the image and writes the data partition of a device provisioned with release 1 on slot A. */
  static async create(o: GuestDeviceOptions): Promise<GuestDevice> {
    const device = new GuestDevice(o);
    const rootBytes = o.fleet?.rootBytes ?? o.rootBytes;
    if (rootBytes === undefined) throw new Error('GuestDevice.create: give a fleet or the rootBytes of one');
    const agentConfig = guestAgentConfig(o.layout, { deviceId: device.deviceId, ...o.agent, ...o.fleet?.agentOptions });
    await provisionDataPartition(device.disk, o.layout, o.workDir, {
      agentConfig, rootBytes, version: 1, slotA: partitionDigest(device.disk, o.layout.partitions.A),
      ...(o.extraFiles === undefined ? {} : { extraFiles: o.extraFiles }),
    });
    return device;
  }

  /** Boots run so far (QEMU processes started). */
  get boots(): number {
    return this.#machines.length;
  }

  /**
   * The slots the boot script chose, every boot in order; a QEMU run that reached no choice
   * (a power cut before it) counts as one null.
   */
  get bootedSlots(): (string | null)[] {
    return this.#machines.flatMap((m) => {
      const slots = m.events.flatMap((e) => (e.kind === 'script-slot' ? [e.slot] : []));
      return slots.length === 0 ? [null] : slots;
    });
  }

  /** True until U-Boot's first save fills a blank NOR flash (the script saves before it boots a slot). */
  get #blank(): boolean {
    return this.#blankFlash && this.bootedSlots.every((s) => s === null);
  }

  /** The stored env read with fw_printenv and with our codec (null: a blank flash). */
  async readEnv(): Promise<EnvReading | null> {
    if (this.#blank) return null;
    return { fwPrintenv: this.env.read(), codec: await this.env.decode() };
  }

  /**
   * Damages the data area (past the 4-byte CRC) of the only env copy, where it is stored: what a
   * power cut that tears U-Boot's save of a single copy leaves. U-Boot then takes its built-in
   * default env (NOR), or the script its default state (uboot.env), and A boots.
   */
  damageEnv(): void {
    const dataOffset = 4 + 16;
    if (this.flash !== undefined) {
      flipBytes(this.flash, dataOffset);
      return;
    }
    const { layout, workDir } = this.o;
    const fat = `${this.disk}@@${layout.partitions.boot.offsetBytes}`;
    const file = join(workDir, 'damaged.env');
    execFileSync('mcopy', ['-o', '-n', '-i', fat, `::${layout.env.file}`, file]);
    flipBytes(file, dataOffset);
    execFileSync('mcopy', ['-o', '-n', '-i', fat, file, `::${layout.env.file}`]);
  }

  /** The simulator's prediction of the next boot from the env stored now: its slot and the state it saves. */
  predictNext(): { slot: string | null; state: Map<string, string> } {
    const stored = this.#blank ? null : this.#readOrLost();
    const run = simulateRuns(this.o.layout, stored, 1);
    return { slot: run.slots[0] ?? null, state: stateVars(run.stored) };
  }

  /**
   * The stored env, or null when no valid copy is left (a power cut tore the single copy):
   * U-Boot then starts from its default env, and the script for uboot.env from its default state,
   * which is what the simulator does with no stored env.
   */
  #readOrLost(): Map<string, string> | null {
    try {
      return this.env.read();
    } catch {
      return null;
    }
  }

  /**
   * Powers the board on (a new QEMU) and records the simulator's prediction for this boot first.
   * By default a guest reboot ends QEMU, so each boot is one run and the host sees the env between
   * boots; with `exitOnReboot: false` the board restarts by itself (a panicking slot's resets), and
   * the caller predicts those boots with simulateRuns. `forwards` default to the fleet's;
   * `stick` plugs in a second disk (MachineOptions.stickPath).
   */
  async boot(options: { forwards?: readonly GuestForward[]; exitOnReboot?: boolean; stick?: string } = {}): Promise<Machine> {
    this.predictedSlots.push(this.predictNext().slot);
    const machine = await Machine.start({
      diskPath: this.disk, arch: this.o.layout.arch, logDir: this.o.logDir(this.#machines.length + 1), exitOnReboot: options.exitOnReboot ?? true,
      forwards: options.forwards ?? this.o.fleet?.forwards ?? [],
      ...(this.o.qemu === undefined ? {} : { qemu: this.o.qemu }), ...(this.flash === undefined ? {} : { envFlashPath: this.flash }),
      ...(this.o.biosPath === undefined ? {} : { biosPath: this.o.biosPath }),
      ...(this.o.watchdog === true ? { watchdog: true } : {}), ...(options.stick === undefined ? {} : { stickPath: options.stick }),
    });
    this.#machines.push(machine);
    return machine;
  }
}

/** stateVars of a reading, for comparing fw_printenv, our codec and the simulator. */
export function envState(vars: ReadonlyMap<string, string>): Map<string, string> {
  return stateVars(new Map(vars));
}
