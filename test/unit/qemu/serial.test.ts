/**
 * The serial-console parser of the QEMU runner, on the console of a real run
 * (test/fixtures/qemu-arm/fallback-to-a.serial.log: Debian's U-Boot 2023.01 runs
 * bootloader/boot.cmd, slot B panics three times, U-Boot falls back to A), and the
 * QEMU command line's network rules.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QEMU_CPUS, SerialParser, UBOOT_QEMU_ARM, UBOOT_QEMU_ARM64, qemuArgs, slotOfCmdline, type SerialEvent } from '../../support/qemu/index.js';

const log = readFileSync(fileURLToPath(new URL('../../../../test/fixtures/qemu-arm/fallback-to-a.serial.log', import.meta.url)), 'utf8');

const parseAll = (chunks: readonly string[]): SerialEvent[] => {
  const parser = new SerialParser();
  return chunks.flatMap((c) => parser.push(c));
};

test('a real fallback run: three boots of B that panic, then A reaches its init', () => {
  const events = parseAll([log]);
  const summary = events
    .filter((e) => ['uboot-banner', 'script-slot', 'kernel-panic', 'init'].includes(e.kind))
    .map((e) => `${e.boot}:${e.kind}${'slot' in e ? `:${String(e.slot)}` : ''}`);
  assert.equal(summary, [
    '1:uboot-banner', '1:script-slot:B', '1:kernel-panic',
    '2:uboot-banner', '2:script-slot:B', '2:kernel-panic',
    '3:uboot-banner', '3:script-slot:B', '3:kernel-panic',
    '4:uboot-banner', '4:script-slot:A', '4:init:A',
  ]);
  const cmdlines = events.flatMap((e) => (e.kind === 'kernel-cmdline' ? [e.slot] : []));
  assert.equal(cmdlines, ['B', 'B', 'B', 'A']);
  assert.ok(events.some((e) => e.kind === 'uboot-env-default'), "U-Boot's blank flash env is seen");
  assert.ok(events.some((e) => e.kind === 'script-message' && e.text.startsWith('state imported from uboot.env')));
});

test('events do not depend on how the console text is cut into chunks', () => {
  const whole = parseAll([log]);
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: log.length - 1 }), { maxLength: 40 }), (cuts) => {
    const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), log.length];
    const chunks = points.slice(1).map((end, i) => log.slice(points[i], end));
    assert.equal(parseAll(chunks), whole);
  }), { numRuns: 50 });
});

test('CR LF line ends, a line without its end yet, answers from the guest shell', () => {
  const parser = new SerialParser();
  assert.equal(parser.push('U-Boot 2023.01+dfsg-2 (x)\r\nota: booting slot B (A left 3)\r\nOTA-INIT: slot=B'), [
    { kind: 'uboot-banner', boot: 1, version: '2023.01+dfsg-2', line: 'U-Boot 2023.01+dfsg-2 (x)' },
    { kind: 'script-slot', boot: 1, slot: 'B', line: 'ota: booting slot B (A left 3)' },
  ]);
  assert.equal(parser.push(' kernel=6.1\n'), [{ kind: 'init', boot: 1, slot: 'B', line: 'OTA-INIT: slot=B kernel=6.1' }]);
  assert.equal(parser.push('/ # echo "OTA-TEST: c1 $( ( cat /proc/mtd ) )"\r\nOTA-TEST: c1 mtd0: 08000000|\r\n'), [
    { kind: 'guest-output', boot: 1, text: 'c1 mtd0: 08000000|', line: 'OTA-TEST: c1 mtd0: 08000000|' },
  ], "the shell's echo of a typed command is not its answer");
});

test('agent lines (tagged by guest/start.sh): steps, MQTT states, the reboot, exits; the shell prompt before one', () => {
  const parser = new SerialParser();
  const lines = [
    'ota-agent[post-boot]: health check fleet (required): passed: MQTT round-trip',
    'ota-agent[post-boot]: update: checking -ok-> committing',
    'ota-agent[post-boot]: exited 0',
    '/ # \u001b[6nota-agent[run]: mqtt: connecting',
    'ota-agent[run]: warn: mqtt: offline',
    'ota-agent[run]: rebooting: reboot -f',
    '[   12.345678] reboot: Restarting system',
  ];
  const events = parser.push(`${lines.join('\r\n')}\r\n`);
  assert.equal(events.map((e) => [e.kind, 'command' in e ? e.command : '']), [
    ['agent', 'post-boot'], ['agent-step', 'post-boot'], ['agent-exit', 'post-boot'], ['agent-mqtt', 'run'], ['agent', 'run'],
    ['agent-reboot', 'run'], ['kernel-reboot', ''],
  ]);
  assert.equal(events[1], { kind: 'agent-step', boot: 0, command: 'post-boot', from: 'checking', event: 'ok', to: 'committing', line: lines[1] });
  assert.equal(events[2], { kind: 'agent-exit', boot: 0, command: 'post-boot', code: 0, line: lines[2] });
  assert.equal(events[3], { kind: 'agent-mqtt', boot: 0, command: 'run', state: 'connecting', line: lines[3] });
  assert.equal(events[0], { kind: 'agent', boot: 0, command: 'post-boot', text: 'health check fleet (required): passed: MQTT round-trip', line: lines[0] });
});

test('slotOfCmdline reads ota.slot= and nothing like it', () => {
  assert.is(slotOfCmdline('console=ttyAMA0 root=/dev/vda3 ota.slot=B ota.boot=4'), 'B');
  assert.is(slotOfCmdline('console=ttyAMA0 xota.slot=B'), undefined);
  assert.is(slotOfCmdline('console=ttyAMA0'), undefined);
});

test('without forwards the board has no network; with them only 127.0.0.1 is reached, restricted', () => {
  const base = { diskPath: 'disk.img', logDir: 'logs' };
  const none = qemuArgs(base, 'q.sock');
  assert.equal(none.slice(none.indexOf('-nic'), none.indexOf('-nic') + 2), ['-nic', 'none']);
  assert.not.ok(none.includes('-netdev'));
  const args = qemuArgs({ ...base, forwards: [{ guestAddress: '10.0.2.100', guestPort: 1883, hostPort: 41883 }] }, 'q.sock');
  const netdev = args[args.indexOf('-netdev') + 1] ?? '';
  assert.ok(netdev.split(',').includes('restrict=on'), netdev);
  assert.ok(netdev.includes('guestfwd=tcp:10.0.2.100:1883-cmd:socat STDIO TCP:127.0.0.1:41883'), netdev);
  assert.not.ok(args.includes('-nic'));
});

test("the board's arch picks the CPU model and Debian's U-Boot for it; arm64 by default", () => {
  const flag = (args: string[], name: string): string | undefined => args[args.indexOf(name) + 1];
  const arm64 = qemuArgs({ diskPath: 'disk.img', logDir: 'logs' }, 'q.sock');
  assert.equal([flag(arm64, '-cpu'), flag(arm64, '-bios')], ['cortex-a57', UBOOT_QEMU_ARM64]);
  const arm = qemuArgs({ diskPath: 'disk.img', logDir: 'logs', arch: 'arm' }, 'q.sock');
  assert.equal([flag(arm, '-cpu'), flag(arm, '-bios')], ['cortex-a15', UBOOT_QEMU_ARM]);
  assert.is(QEMU_CPUS.arm.binary, 'qemu-system-arm');
  const own = qemuArgs({ diskPath: 'disk.img', logDir: 'logs', arch: 'arm', biosPath: 'u-boot.bin' }, 'q.sock');
  assert.is(flag(own, '-bios'), 'u-boot.bin', 'biosPath wins over the default');
});

test.run();
