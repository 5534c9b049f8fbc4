// The names shared by the agent and bootloader/boot.cmd live in agent/src/boot/vars.ts:
// check the script uses each, and uses no other upper-case state variable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BOARD_SCRIPT_VARS, CMDLINE, STATE_VAR_NAMES, parseHush } from '../../../agent/src/boot/index.js';
import { bootScript } from '../../support/boot-device.js';

const script = bootScript();

test('every state variable of vars.ts appears in boot.cmd, and the file-mode import lists them all', () => {
  for (const name of STATE_VAR_NAMES) assert.ok(script.includes(name), `${name} in boot.cmd`);
  const importLine = script.split('\n').find((l) => l.includes('env import'));
  assert.ok(importLine !== undefined);
  for (const name of STATE_VAR_NAMES) assert.ok(importLine?.includes(` ${name}`), `${name} is imported in file mode`);
});

test('boot.cmd uses no upper-case variable that vars.ts does not name', () => {
  const used = new Set([...script.matchAll(/\b([A-Z][A-Z0-9_]{3,})\b/g)].map((m) => m[1]));
  const known = new Set(STATE_VAR_NAMES);
  const unknown = [...used].filter((n) => n !== undefined && !known.has(n) && /^(BOOT|OTA)_/.test(n));
  assert.equal(unknown, []);
});

test('every board setting the script reads is declared in vars.ts, and the reverse', () => {
  const read = new Set([...script.matchAll(/\$\{(ota_[A-Za-z_]+)\}/g)].map((m) => m[1]));
  const runtime = new Set(['ota_slot', 'ota_part', 'ota_root', 'ota_initrd_size', 'ota_refilled']);
  const settings = [...read].filter((n) => n !== undefined && !runtime.has(n)).sort();
  assert.equal(settings, [...BOARD_SCRIPT_VARS].sort());
});

test('the kernel command line parameters are the ones the script passes', () => {
  assert.match(script, new RegExp(`${CMDLINE.slot.replace('.', '\\.')}=\\$\\{ota_slot\\}`));
  assert.match(script, new RegExp(`${CMDLINE.bootCount.replace('.', '\\.')}=\\$\\{OTA_BOOT_COUNT\\}`));
});

test('boot.cmd parses with the simulator hush subset', () => {
  assert.ok(parseHush(script).length > 10);
});

test.run();
