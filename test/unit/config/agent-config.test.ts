// The agent config: defaults, paths relative to the file, every problem named by its field path.
import { test } from 'uvu';
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { parseAgentConfig, validateAgentConfig } from '../../../agent/src/config/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

const SOURCE = '/etc/ota-agent/agent.json';
const minimal = {
  deviceId: 'dev-1', hardware: 'rpi-4', dataDir: '/var/lib/ota-agent', env: '/etc/fw_env.config',
  slots: { A: { device: '/dev/mmcblk0p2' }, B: { device: '/dev/mmcblk0p3' } },
};

function problems(json: unknown): string {
  try {
    validateAgentConfig(json, SOURCE);
  } catch (err) {
    assert.instance(err, OtaError);
    if (err instanceof OtaError) {
      assert.is(err.code, 'CONFIG_INVALID');
      return err.message;
    }
  }
  throw new Error('expected the config to be refused');
}

test('a minimal config gets the documented defaults', () => {
  const c = validateAgentConfig(minimal, SOURCE);
  assert.equal([c.cmdlinePath, c.tries, c.logFormat, c.rebootCommand, c.artifactUrls, c.mqtt, c.bootloader],
    ['/proc/cmdline', 3, 'text', ['systemctl', 'reboot'], [], undefined, { kind: 'u-boot' }]);
  assert.equal(c.health, { deadlineMs: 60_000, checks: [] });
  assert.is(c.machine.maxSaves, 3);
  assert.equal(c.slots, { A: { device: '/dev/mmcblk0p2' }, B: { device: '/dev/mmcblk0p3' } });
});

test('relative paths are relative to the config file, not the working directory', () => {
  const c = validateAgentConfig({ ...minimal, dataDir: 'data', env: 'fw_env.config', cmdlinePath: 'cmdline', bootloader: 'simulator', bootScriptPath: 'boot.cmd',
    slots: { A: { device: 'slot-A.img' }, B: { device: 'slot-B.img', sizeBytes: 4096 } } }, '/srv/devices/d1/agent.json');
  assert.equal([c.dataDir, c.envConfigPath, c.cmdlinePath, c.bootloader, c.slots.A.device, c.slots.B],
    ['/srv/devices/d1/data', '/srv/devices/d1/fw_env.config', '/srv/devices/d1/cmdline', { kind: 'simulator', scriptPath: '/srv/devices/d1/boot.cmd' }, '/srv/devices/d1/slot-A.img', { device: '/srv/devices/d1/slot-B.img', sizeBytes: 4096 }]);
});

test('etc: the pre-init\'s paths by default, relative paths from the config file, unknown fields refused', () => {
  assert.equal(validateAgentConfig(minimal, SOURCE).etc, { overlayDir: '/data/overlay', lowerDir: '/run/ota/lower-etc' });
  assert.equal(validateAgentConfig({ ...minimal, etc: { overlayDir: 'ov', lowerDir: '/x' } }, SOURCE).etc, { overlayDir: '/etc/ota-agent/ov', lowerDir: '/x' });
  assert.match(problems({ ...minimal, etc: { upperDir: '/x' } }), 'etc.upperDir');
});

test('every problem is listed at once, each by its field path', () => {
  const message = problems({ hardware: 'rpi 4', dataDir: '/d', env: '/e', tries: 12, slot: {}, logFormat: 'xml',
    slots: { A: { device: '/dev/sda2' }, B: { device: '/dev/sda2', sizeBytes: -1 } }, artifacts: { urls: ['ftp://x/'] } });
  for (const field of ['deviceId: is missing', 'hardware: "rpi 4"', 'tries: 12', 'slot: is not a known field', 'logFormat: "xml"',
    'slots.B.device: is the same device', 'slots.B.sizeBytes: -1', 'artifacts.urls[0]']) {
    assert.match(message, field);
  }
  assert.match(message, SOURCE);
});

test('one validator: every problem of the mqtt, health and machine sections is listed with the rest, not just the first of each', () => {
  const message = problems({ ...minimal, tries: 0, mqtt: { url: 'http://h', protocolVersion: 3, backoff: { capMs: 0 } },
    health: { deadlineMs: -1, checks: [{ kind: 'ping' }, { kind: 'file' }] }, machine: { maxSaves: 1, deadlinesMs: { arming: 0 } } });
  for (const field of ['tries: 0', 'mqtt.url: "http://h"', 'mqtt.protocolVersion: 3', 'mqtt.backoff.capMs: 0', 'health.deadlineMs: -1',
    'health.checks[0].kind', 'health.checks[1].path: is missing', 'machine.maxSaves: 1', 'machine.deadlinesMs.arming: 0']) {
    assert.match(message, field);
  }
  assert.match(message, '9 problem(s)');
});

test('the mqtt, health and machine sections are checked by their modules and named', () => {
  const c = validateAgentConfig({ ...minimal, mqtt: { url: 'mqtt://127.0.0.1:1883', protocolVersion: 4 } }, SOURCE);
  assert.equal([c.mqtt?.deviceId, c.mqtt?.hardware, c.mqtt?.protocolVersion], ['dev-1', 'rpi-4', 4]);
  assert.match(problems({ ...minimal, mqtt: { url: 'mqtt://h:1', protocolVersion: 3 } }), 'mqtt.protocolVersion: 3: want 5');
  assert.match(problems({ ...minimal, mqtt: { url: 'mqtt://h:1', deviceId: 'x' } }), 'set it at the top level');
  assert.match(problems({ ...minimal, health: { checks: [{ kind: 'ping' }] } }), 'health.checks[0].kind');
  assert.match(problems({ ...minimal, machine: { maxSaves: 1 } }), 'machine.maxSaves');
});

test('the simulator is chosen by bootloader, never by a boot script path alone', () => {
  assert.match(problems({ ...minimal, bootScriptPath: 'boot.cmd' }), 'bootScriptPath: only a simulated device runs the boot script itself');
  assert.match(problems({ ...minimal, bootloader: 'simulator' }), 'bootScriptPath: is missing');
  assert.match(problems({ ...minimal, bootloader: 'grub' }), 'bootloader: "grub": must be one of u-boot, simulator');
  assert.equal(validateAgentConfig({ ...minimal, bootloader: 'u-boot' }, SOURCE).bootloader, { kind: 'u-boot' });
});

test('a file that is not JSON, or not an object, is refused with the file named', () => {
  assert.throws(() => parseAgentConfig('{"deviceId": ', SOURCE), (e: unknown) => e instanceof OtaError && e.code === 'CONFIG_INVALID' && e.message.includes('not valid JSON'));
  assert.match(problems([]), '(top level): must be an object');
});

test('a member named twice in one object is refused (never its last value), at any depth', () => {
  const text = JSON.stringify(minimal);
  const cases = [
    text.replace('"deviceId":"dev-1"', '"deviceId":"dev-1","deviceId":"dev-2"'),
    text.replace('"B":{"device":"/dev/mmcblk0p3"}', '"B":{"device":"/dev/mmcblk0p3","device":"/dev/mmcblk0p2"}'),
  ];
  for (const dup of cases) {
    assert.throws(() => parseAgentConfig(dup, SOURCE), (e: unknown) => e instanceof OtaError && e.code === 'CONFIG_INVALID'
      && /not valid JSON \(member "(deviceId|device)" appears twice in one object\): fix the file$/.test(e.message) && e.message.includes(SOURCE), dup);
  }
  assert.is(parseAgentConfig(text, SOURCE).deviceId, 'dev-1');
});

test('every example in docs/agent-config.md is a valid config', () => {
  const doc = readFileSync(new URL('../../../../docs/agent-config.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  assert.ok(blocks.length >= 3, 'the doc has its examples');
  for (const text of blocks) assert.is(parseAgentConfig(text, '/etc/ota-agent/agent.json').source, '/etc/ota-agent/agent.json');
});

test.run();
