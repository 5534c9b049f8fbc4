/**
 * Parses the serial console of the emulated board (U-Boot, our boot script,
 * the kernel, the test initramfs and slot init, the agent) into events.
 * Pure: feed it text as it arrives, get events back.
 */

/** What a serial line meant. `boot` counts U-Boot banners seen so far (1 = first boot). */
export type SerialEvent =
  | { kind: 'uboot-banner'; boot: number; version: string; line: string }
  | { kind: 'uboot-env-default'; boot: number; line: string }
  | { kind: 'script-start'; boot: number; line: string }
  | { kind: 'script-found'; boot: number; path: string; line: string }
  | { kind: 'script-failed'; boot: number; line: string }
  | { kind: 'kernel-model'; boot: number; model: string; line: string }
  | { kind: 'script-message'; boot: number; text: string; line: string }
  | { kind: 'script-slot'; boot: number; slot: string; line: string }
  | { kind: 'kernel-start'; boot: number; line: string }
  | { kind: 'kernel-cmdline'; boot: number; cmdline: string; slot: string | undefined; line: string }
  | { kind: 'kernel-panic'; boot: number; line: string }
  | { kind: 'kernel-reboot'; boot: number; line: string }
  | { kind: 'initramfs'; boot: number; text: string; line: string }
  | { kind: 'initramfs-fatal'; boot: number; text: string; line: string }
  | { kind: 'init'; boot: number; slot: string; line: string }
  | { kind: 'init-ready'; boot: number; line: string }
  | { kind: 'agent'; boot: number; command: string; text: string; line: string }
  | { kind: 'agent-mqtt'; boot: number; command: string; state: string; line: string }
  | { kind: 'agent-step'; boot: number; command: string; from: string; event: string; to: string; line: string }
  | { kind: 'agent-reboot'; boot: number; command: string; line: string }
  | { kind: 'agent-exit'; boot: number; command: string; code: number; line: string }
  | { kind: 'guest-output'; boot: number; text: string; line: string };

/** The kinds of event, for `waitFor` and filters. */
export type SerialEventKind = SerialEvent['kind'];

/** Prefix of lines our boot script prints (bootloader/boot.cmd). */
export const SCRIPT_PREFIX = 'ota: ';
/** Prefix of the test slot's init lines (test/qemu-arm/guest/slot-init). */
export const INIT_PREFIX = 'OTA-INIT: ';
/** Prefix of the test initramfs' lines (test/qemu-arm/guest/initramfs-init). */
export const INITRAMFS_PREFIX = 'ota-initramfs: ';
/** Prefix of the answers to commands a test types into the guest's shell (Machine.shell). */
export const GUEST_OUTPUT_PREFIX = 'OTA-TEST: ';
/**
 * Lines of the agent in the guest: test/qemu-arm/guest/start.sh tags each line of `ota-agent COMMAND`
 * as `ota-agent[COMMAND]: LINE` and its end as `ota-agent[COMMAND]: exited CODE`.
 */
// Anywhere in the line: the console shell's prompt (and its cursor query) may come first.
const AGENT_LINE = /ota-agent\[([a-z-]+)\]: (.*)$/;

// Kernel lines start with "[    1.234567] " when printk times are on.
const KERNEL_TIME = /^\[\s*\d+\.\d+\]\s*/;

/** The value of `ota.slot=` in a kernel command line, if any. */
export function slotOfCmdline(cmdline: string): string | undefined {
  return /(?:^|\s)ota\.slot=(\S+)/.exec(cmdline)?.[1];
}

/** Splits a stream into lines and classifies each one. */
export class SerialParser {
  #pending = '';
  #boot = 0;

  /** Number of U-Boot banners seen so far. */
  get boot(): number {
    return this.#boot;
  }

  /** Feed text as it arrives; returns the events of the lines it completed. */
  push(text: string): SerialEvent[] {
    this.#pending += text;
    const events: SerialEvent[] = [];
    let newline = this.#pending.indexOf('\n');
    while (newline >= 0) {
      const event = this.#classify(this.#pending.slice(0, newline).replace(/\r/g, ''));
      if (event !== undefined) events.push(event);
      this.#pending = this.#pending.slice(newline + 1);
      newline = this.#pending.indexOf('\n');
    }
    return events;
  }

  #classify(line: string): SerialEvent | undefined {
    const banner = /^U-Boot (\d{4}\.\d{2}\S*)/.exec(line);
    if (banner?.[1] !== undefined) {
      this.#boot += 1;
      return { kind: 'uboot-banner', boot: this.#boot, version: banner[1], line };
    }
    const boot = this.#boot;
    if (line.includes('using default environment')) return { kind: 'uboot-env-default', boot, line };
    if (line.startsWith('## Executing script at')) return { kind: 'script-start', boot, line };
    if (line.startsWith('SCRIPT FAILED: continuing')) return { kind: 'script-failed', boot, line };
    if (line.startsWith('Found U-Boot script ')) return { kind: 'script-found', boot, path: line.slice('Found U-Boot script '.length).trim(), line };
    if (line.startsWith(SCRIPT_PREFIX)) return scriptEvent(boot, line);
    if (line.startsWith('Starting kernel')) return { kind: 'kernel-start', boot, line };
    if (line.startsWith(INITRAMFS_PREFIX)) return initramfsEvent(boot, line);
    if (line.startsWith(INIT_PREFIX)) return initEvent(boot, line);
    const agent = AGENT_LINE.exec(line);
    if (agent?.[1] !== undefined && agent[2] !== undefined) return agentEvent(boot, agent[1], agent[2], line);
    if (line.startsWith(GUEST_OUTPUT_PREFIX)) return { kind: 'guest-output', boot, text: line.slice(GUEST_OUTPUT_PREFIX.length), line };
    const kernel = line.replace(KERNEL_TIME, '');
    if (kernel.startsWith('Kernel command line: ')) {
      const cmdline = kernel.slice('Kernel command line: '.length).trim();
      return { kind: 'kernel-cmdline', boot, cmdline, slot: slotOfCmdline(cmdline), line };
    }
    if (kernel.startsWith('Machine model: ')) return { kind: 'kernel-model', boot, model: kernel.slice('Machine model: '.length).trim(), line };
    if (kernel.startsWith('Kernel panic - not syncing')) return { kind: 'kernel-panic', boot, line };
    if (kernel.startsWith('reboot: Restarting system')) return { kind: 'kernel-reboot', boot, line };
    return undefined;
  }
}

function scriptEvent(boot: number, line: string): SerialEvent {
  const text = line.slice(SCRIPT_PREFIX.length);
  const slot = /^booting slot (\S+)/.exec(text)?.[1];
  if (slot !== undefined) return { kind: 'script-slot', boot, slot, line };
  return { kind: 'script-message', boot, text, line };
}

function initramfsEvent(boot: number, line: string): SerialEvent {
  const text = line.slice(INITRAMFS_PREFIX.length);
  if (text.startsWith('FATAL')) return { kind: 'initramfs-fatal', boot, text, line };
  return { kind: 'initramfs', boot, text, line };
}

function initEvent(boot: number, line: string): SerialEvent | undefined {
  const text = line.slice(INIT_PREFIX.length);
  const slot = /^slot=(\S*)/.exec(text)?.[1];
  if (slot !== undefined) return { kind: 'init', boot, slot, line };
  if (text === 'ready') return { kind: 'init-ready', boot, line };
  return undefined;
}

/**
 * The agent's text log lines that mark progress (agent/src/agent: `update: FROM -EVENT-> TO` from
 * the session, `mqtt: STATE` from the daemon, `rebooting: COMMAND` before the reboot command).
 */
function agentEvent(boot: number, command: string, text: string, line: string): SerialEvent {
  const exit = /^exited (\d+)$/.exec(text)?.[1];
  if (exit !== undefined) return { kind: 'agent-exit', boot, command, code: Number(exit), line };
  const step = /^update: (\S+) -(\S+)-> (\S+)/.exec(text);
  if (step?.[1] !== undefined && step[2] !== undefined && step[3] !== undefined) {
    return { kind: 'agent-step', boot, command, from: step[1], event: step[2], to: step[3], line };
  }
  const mqtt = /^mqtt: (\S+)/.exec(text)?.[1];
  if (mqtt !== undefined) return { kind: 'agent-mqtt', boot, command, state: mqtt, line };
  if (text.startsWith('rebooting: ')) return { kind: 'agent-reboot', boot, command, line };
  return { kind: 'agent', boot, command, text, line };
}
