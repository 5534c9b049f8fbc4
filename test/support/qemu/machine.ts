/**
 * Runs the emulated ARM board: qemu-system-aarch64 (or qemu-system-arm) -M virt (or raspi3b) with Debian's U-Boot,
 * driven over its serial console (stdio) and QMP (a unix socket). Every line of
 * the console goes to a log file per boot; waits have timeouts whose errors carry
 * the log's path and tail; QEMU is killed when the test process ends, however it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from './qmp.js';
import { GUEST_OUTPUT_PREFIX, SerialParser, type SerialEvent, type SerialEventKind } from './serial.js';

/** Debian's U-Boot for QEMU virt arm64 (package u-boot-qemu). */
export const UBOOT_QEMU_ARM64 = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
/** Debian's U-Boot for QEMU virt, 32-bit arm (package u-boot-qemu). */
export const UBOOT_QEMU_ARM = '/usr/lib/u-boot/qemu_arm/u-boot.bin';

/**
 * What differs between the CPUs of a board config's `arch`: the system emulator, the CPU model
 * (cortex-a15 for arm: it has LPAE, which Debian's qemu_arm U-Boot and armmp-lpae kernel use)
 * and Debian's U-Boot for it.
 */
export const QEMU_CPUS = {
  arm64: { binary: 'qemu-system-aarch64', cpu: 'cortex-a57', uboot: UBOOT_QEMU_ARM64 },
  arm: { binary: 'qemu-system-arm', cpu: 'cortex-a15', uboot: UBOOT_QEMU_ARM },
} as const;

/** A board config's `arch`. */
export type QemuArch = keyof typeof QEMU_CPUS;

/** A guest TCP port forwarded to a port on 127.0.0.1 of the host (nothing else is reachable). */
export interface GuestForward {
  /** Address the guest connects to, inside QEMU's user network (e.g. `10.0.2.100`). */
  guestAddress: string;
  /** Port the guest connects to; the host side listens on 127.0.0.1 at `hostPort`. */
  guestPort: number;
  hostPort: number;
}

/** A QEMU unpacked outside /usr (test/qemu-arm/fetch-qemu10.sh): its binary, -L folder and modules. */
export interface QemuBuild {
  binary: string;
  dataDir: string;
  moduleDir: string;
}

/** How to run the board. */
export interface MachineOptions {
  /** Raw disk image (virtio-blk). */
  diskPath: string;
  /** Folder for the serial logs (created). */
  logDir: string;
  /** The board's CPU (default arm64): QEMU binary, -cpu and the default -bios. */
  arch?: QemuArch;
  /** Another QEMU than the system's qemu-system-aarch64 (or qemu-system-arm). */
  qemu?: QemuBuild;
  biosPath?: string;
  memoryMiB?: number;
  /** U-Boot's env in NOR flash: a 64 MiB file for the second pflash bank. */
  envFlashPath?: string;
  /** An i6300esb watchdog that resets the board when the guest stops feeding it. */
  watchdog?: boolean;
  /**
   * A raw image plugged in as a second virtio-blk disk, after the board's own (the guest's
   * /dev/vdb, U-Boot's virtio 1): the USB stick of an offline install.
   */
  stickPath?: string;
  /** User networking restricted to these forwards; without any, the board has no network at all. */
  forwards?: readonly GuestForward[];
  /**
   * A reboot of the guest (and a QMP reset) ends QEMU instead of restarting the board
   * (`-action reboot=shutdown`): the test reads the env on the host between boots, then starts the board again.
   */
  exitOnReboot?: boolean;
  /**
   * QEMU's raspi3b instead of virt: U-Boot loaded by QEMU (`-kernel`, with the board's device tree), the
   * disk as the SD card; U-Boot and Linux print on the second UART (the mini UART), so the first goes nowhere.
   */
  raspi3b?: { ubootPath: string; dtbPath: string };
}

function raspiArgs(options: MachineOptions, raspi: { ubootPath: string; dtbPath: string }, qmpPath: string): string[] {
  return ['-M', 'raspi3b', '-kernel', raspi.ubootPath, '-dtb', raspi.dtbPath, '-drive', `if=sd,format=raw,file=${options.diskPath}`,
    '-display', 'none', '-monitor', 'none', '-serial', 'null', '-serial', 'stdio', '-qmp', `unix:${qmpPath},server=on,wait=off`,
    ...(options.exitOnReboot === true ? ['-action', 'reboot=shutdown'] : [])];
}

/** The qemu-system-aarch64 (or qemu-system-arm) arguments for `options` (QMP socket at `qmpPath`). */
export function qemuArgs(options: MachineOptions, qmpPath: string): string[] {
  if (options.raspi3b !== undefined) return raspiArgs(options, options.raspi3b, qmpPath);
  const cpu = QEMU_CPUS[options.arch ?? 'arm64'];
  const args = ['-M', 'virt', '-cpu', cpu.cpu, '-smp', '1', '-m', String(options.memoryMiB ?? 1024),
    '-nographic', '-monitor', 'none', '-serial', 'stdio', '-qmp', `unix:${qmpPath},server=on,wait=off`,
    '-bios', options.biosPath ?? cpu.uboot,
    '-drive', `if=none,id=hd0,format=raw,file=${options.diskPath}`, '-device', 'virtio-blk-pci,drive=hd0'];
  // -display/-audio none: a private QEMU must not load a display or sound module of the system's build
  if (options.qemu !== undefined) args.push('-L', options.qemu.dataDir, '-display', 'none', '-audio', 'none');
  // after hd0: the board's disk keeps the first PCI slot, so it stays vda and U-Boot's virtio 0
  if (options.stickPath !== undefined) args.push('-drive', `if=none,id=stick,format=raw,file=${options.stickPath}`, '-device', 'virtio-blk-pci,drive=stick');
  if (options.envFlashPath !== undefined) args.push('-drive', `if=pflash,unit=1,format=raw,file=${options.envFlashPath}`);
  if (options.watchdog === true) args.push('-device', 'i6300esb', '-action', 'watchdog=reset');
  if (options.exitOnReboot === true) args.push('-action', 'reboot=shutdown');
  const forwards = options.forwards ?? [];
  if (forwards.length === 0) {
    args.push('-nic', 'none'); // no default user network: the guest reaches nothing
  } else {
    const fwd = forwards.map((f) => `guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:socat STDIO TCP:127.0.0.1:${f.hostPort}`);
    args.push('-netdev', ['user', 'id=n0', 'restrict=on', 'ipv6=off', ...fwd].join(','), '-device', 'virtio-net-pci,netdev=n0,romfile=');
  }
  return args;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** What to wait for: an event kind, optionally with a condition on the event. */
export interface WaitOptions<K extends SerialEventKind> {
  timeoutMs: number;
  match?: (event: Extract<SerialEvent, { kind: K }>) => boolean;
}

/** A running board. Waits consume events in order: each starts after the previous match. */
export class Machine {
  readonly events: SerialEvent[] = [];
  readonly logPath: string;
  readonly #child: ChildProcess;
  readonly #logDir: string;
  readonly #parser = new SerialParser();
  readonly #listeners = new Set<() => void>();
  #qmp: QmpClient | undefined;
  #pending = '';
  #tail: string[] = [];
  #cursor = 0;
  #exit: string | undefined;
  #commands = 0;

  private constructor(child: ChildProcess, logDir: string) {
    this.#child = child;
    this.#logDir = logDir;
    this.logPath = join(logDir, 'serial.log');
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => this.#onSerial(text));
    child.stderr?.on('data', (text: string) => this.#onSerial(text.replace(/^/gm, 'qemu stderr: ')));
    child.on('exit', (code, signal) => {
      running.delete(child);
      this.#exit = signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`;
      this.#notify();
    });
  }

  /** Starts QEMU and connects to its QMP socket. */
  static async start(options: MachineOptions): Promise<Machine> {
    mkdirSync(options.logDir, { recursive: true });
    // a unix socket path must stay under 108 bytes: not inside a deep checkout
    const socketDir = mkdtempSync(join(tmpdir(), 'ota-qmp-'));
    const qmpPath = join(socketDir, 'qmp.sock');
    const args = qemuArgs(options, qmpPath);
    const binary = options.qemu?.binary ?? QEMU_CPUS[options.arch ?? 'arm64'].binary;
    const env = options.qemu === undefined ? process.env : { ...process.env, QEMU_MODULE_DIR: options.qemu.moduleDir };
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    running.add(child);
    guardAgainstOrphan(child);
    child.on('exit', () => rmSync(socketDir, { recursive: true, force: true }));
    const machine = new Machine(child, options.logDir);
    appendFileSync(machine.logPath, `# ${binary} ${args.join(' ')}\n`);
    try {
      machine.#qmp = await QmpClient.connect(qmpPath, 10_000);
    } catch (err) {
      await machine.kill();
      throw new Error(`QEMU did not start: ${machine.failureReport()}`, { cause: err });
    }
    return machine;
  }

  /** True while QEMU runs. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** Waits for the next event of `kind` (after the previous match) that satisfies `match`. */
  waitFor<K extends SerialEventKind>(kind: K, options: WaitOptions<K>): Promise<Extract<SerialEvent, { kind: K }>> {
    const isIt = (e: SerialEvent): e is Extract<SerialEvent, { kind: K }> => e.kind === kind;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = this.#cursor; i < this.events.length; i += 1) {
          const event = this.events[i];
          if (event !== undefined && isIt(event) && (options.match?.(event) ?? true)) {
            this.#cursor = i + 1;
            done();
            resolve(event);
            return true;
          }
        }
        if (this.#exit !== undefined) {
          done();
          reject(new Error(`waiting for ${kind}: QEMU ${this.#exit}\n${this.failureReport()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waiting for ${kind}: nothing within ${options.timeoutMs} ms\n${this.failureReport()}`));
      }, options.timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      if (!check()) this.#listeners.add(listener);
    });
  }

  /** Types `text` on the serial console (only once the guest's shell is up: a key stops U-Boot's autoboot). */
  send(text: string): void {
    this.#child.stdin?.write(text);
  }

  /**
   * Runs `command` in the guest's console shell (after init-ready) and returns its output
   * (stdout and stderr). The answer comes back as one tagged line, so the shell's echo of
   * the typed command is never mistaken for it.
   */
  async shell(command: string, timeoutMs: number): Promise<string> {
    this.#commands += 1;
    const tag = `c${this.#commands}`;
    this.send(`echo "${GUEST_OUTPUT_PREFIX}${tag} $( ( ${command} ) 2>&1 | tr '\\n' '|' )"\n`);
    const answer = await this.waitFor('guest-output', { timeoutMs, match: (e) => e.text.startsWith(`${tag} `) });
    return answer.text.slice(tag.length + 1).split('|').join('\n').trimEnd();
  }

  /** Presses the board's reset button (QMP system_reset). */
  async reset(): Promise<void> {
    await this.#requireQmp().execute('system_reset');
  }

  /** Cuts the power: QEMU stops at once (QMP quit), without any shutdown in the guest. */
  async powerCut(): Promise<void> {
    await this.#requireQmp().execute('quit').catch(() => undefined);
    await this.#waitExit(5_000);
    await this.kill();
  }

  /** Waits for QEMU to end by itself (a guest reboot with exitOnReboot, or a poweroff); rejects after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<void> {
    await this.#waitExit(timeoutMs);
    if (this.#exit === undefined) throw new Error(`QEMU still runs after ${timeoutMs} ms\n${this.failureReport()}`);
    this.#qmp?.close();
  }

  /** Kills QEMU (SIGKILL) if it still runs, and waits for it to end. */
  async kill(): Promise<void> {
    this.#qmp?.close();
    if (this.#exit === undefined) this.#child.kill('SIGKILL');
    await this.#waitExit(10_000);
  }

  /** Where the logs are and the last lines of the console, for failure messages. */
  failureReport(lines = 80): string {
    return `serial log: ${this.logPath} (one file per boot beside it)\n--- last ${lines} lines ---\n${this.#tail.slice(-lines).join('\n')}`;
  }

  #requireQmp(): QmpClient {
    if (this.#qmp === undefined) throw new Error('QMP is not connected');
    return this.#qmp;
  }

  #waitExit(timeoutMs: number): Promise<void> {
    if (this.#exit !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      const listener = (): void => {
        if (this.#exit !== undefined) finish();
      };
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#listeners.add(listener);
    });
  }

  #onSerial(text: string): void {
    this.#pending += text;
    let newline = this.#pending.indexOf('\n');
    while (newline >= 0) {
      const line = this.#pending.slice(0, newline + 1);
      this.#pending = this.#pending.slice(newline + 1);
      this.events.push(...this.#parser.push(line));
      const clean = line.replace(/\r/g, '');
      appendFileSync(this.logPath, clean);
      appendFileSync(join(this.#logDir, `boot-${this.#parser.boot}.log`), clean);
      this.#tail.push(clean.trimEnd());
      if (this.#tail.length > 200) this.#tail = this.#tail.slice(-100);
      newline = this.#pending.indexOf('\n');
    }
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/**
 * A SIGKILL of the test process skips every exit handler: a tiny shell watches
 * this process and kills QEMU when it disappears. It ends with QEMU.
 */
function guardAgainstOrphan(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null`;
  const guard = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  guard.unref();
  child.on('exit', () => guard.kill('SIGKILL'));
}
