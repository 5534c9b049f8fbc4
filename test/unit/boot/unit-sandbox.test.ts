// The shipped systemd units leave writable every path the agent writes on every board in board-configs/
// (env file or device, slot devices, data directory), and nothing else of the system; checked against a
// model of systemd.exec(5) (test/support/systemd-sandbox.ts) and, when present, `systemd-analyze verify`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, OTA_UNITS, parseBoardConfig, sandboxDropIn, writtenPaths } from '../../../agent/src/boot/index.js';
import type { BoardConfig } from '../../../agent/src/boot/index.js';
import { repoPath } from '../../support/boot-device.js';
import { canWrite, serviceSettings } from '../../support/systemd-sandbox.js';
import { gate, missingReason } from '../../support/skip.js';
import { missingTools, tempDir } from '../../support/tools.js';

const boardDir = repoPath('board-configs');
const boards: BoardConfig[] = readdirSync(boardDir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => parseBoardConfig(readFileSync(join(boardDir, f), 'utf8'), `board-configs/${f}`));
const unitText = (unit: string): string => readFileSync(repoPath(`agent/systemd/${unit}`), 'utf8');

/** What `settings` forbid of `paths`, one line each. */
function refused(settings: ReturnType<typeof serviceSettings>, paths: { path: string; why: string }[]): string[] {
  return paths.flatMap(({ path, why }) => { const r = canWrite(settings, path); return r.ok ? [] : [`${why} ${path}: ${r.why}`]; });
}

test('both units can write, on every board, its env, its slot devices and the default data directory', () => {
  assert.ok(boards.length >= 8, 'every board config is read');
  for (const unit of OTA_UNITS) {
    const settings = serviceSettings(unitText(unit));
    for (const board of boards) assert.equal(refused(settings, writtenPaths(board, DEFAULT_DATA_DIR)), [], `${unit} on ${board.board}`);
  }
});

test('both units keep the rest of the system read-only and the home directories hidden', () => {
  for (const unit of OTA_UNITS) {
    const settings = serviceSettings(unitText(unit));
    assert.is(settings.get('ProtectSystem')?.at(-1), 'strict', unit);
    for (const path of ['/etc/passwd', '/etc/ota-agent/agent.json', '/usr/lib/ota-agent/ota-agent.mjs', '/var/log/x', '/boot/vmlinuz', '/root/.ssh/x', '/home/pi/x']) {
      assert.not.ok(canWrite(settings, path).ok, `${unit}: ${path} must not be writable`);
    }
  }
});

test('a data directory elsewhere is writable only with the board drop-in, which covers the board too', () => {
  for (const unit of OTA_UNITS) {
    for (const board of boards) {
      const paths = writtenPaths(board, '/data/ota-agent');
      assert.ok(refused(serviceSettings(unitText(unit)), paths).length > 0, `${unit} on ${board.board} without the drop-in`);
      assert.equal(refused(serviceSettings(unitText(unit), sandboxDropIn(board, '/data/ota-agent')), paths), [], `${unit} on ${board.board} with the drop-in`);
    }
  }
});

test('the model refuses what systemd.exec(5) refuses (the checks above can fail)', () => {
  const full = serviceSettings('[Service]\nProtectSystem=full\nReadWritePaths=/var/lib/ota-agent\n');
  assert.not.ok(canWrite(full, '/boot/firmware/uboot.env').ok, 'ProtectSystem=full: /boot is read-only');
  assert.not.ok(canWrite(full, '/etc/fw_env.config').ok, 'ProtectSystem=full: /etc is read-only');
  assert.ok(canWrite(full, '/var/lib/ota-agent/journal.json').ok);
  assert.ok(canWrite(full, '/dev/mtd0').ok, 'ProtectSystem does not touch /dev');
  assert.not.ok(canWrite(serviceSettings('[Service]\nPrivateDevices=yes\n'), '/dev/mmcblk0p3').ok);
  assert.not.ok(canWrite(serviceSettings('[Service]\nDevicePolicy=closed\n'), '/dev/mtd0').ok);
  assert.ok(canWrite(serviceSettings('[Service]\nDevicePolicy=closed\nDeviceAllow=/dev/mtd0 rw\n'), '/dev/mtd0').ok);
  assert.not.ok(canWrite(serviceSettings('[Service]\nProtectKernelTunables=yes\n'), '/sys/class/block/mmcblk0boot1/force_ro').ok);
  const reset = serviceSettings('[Service]\nProtectSystem=strict\nReadWritePaths=/boot\n', '[Service]\nReadWritePaths=\nReadWritePaths=/data\n');
  assert.not.ok(canWrite(reset, '/boot/uboot.env').ok, 'an empty assignment in a drop-in resets the list');
  assert.ok(canWrite(reset, '/data/x').ok);
  assert.not.ok(canWrite(serviceSettings('[Service]\nProtectSystem=strict\nReadWritePaths=/data\nReadOnlyPaths=/data/keys\n'), '/data/keys/k').ok, 'the deeper rule wins');
});

test('the eMMC boot partition env needs its sysfs force_ro switch, which the units leave writable', () => {
  const emmc = parseBoardConfig(readFileSync(join(boardDir, 'beaglebone-black.json'), 'utf8'), 'board-configs/beaglebone-black.json');
  const copies: BoardConfig['env']['parsed']['copies'] = [{ ...emmc.env.parsed.copies[0], device: '/dev/mmcblk1boot1' }];
  const withBootPart: BoardConfig = { ...emmc, env: { ...emmc.env, parsed: { copies } } };
  const paths = writtenPaths(withBootPart, DEFAULT_DATA_DIR);
  assert.ok(paths.some((p) => p.path === '/sys/class/block/mmcblk1boot1/force_ro'));
  for (const unit of OTA_UNITS) assert.equal(refused(serviceSettings(unitText(unit)), paths), [], unit);
});

const verify = gate(missingReason(missingTools('systemd-analyze verify', 'systemd-analyze')));

verify('systemd-analyze verify accepts both units and a board drop-in', () => {
  const { dir, cleanup } = tempDir('ota-units-');
  try {
    const board = boards.find((b) => b.board === 'qemu-virt-arm64-redundant') ?? boards[0]!;
    for (const unit of OTA_UNITS) {
      writeFileSync(join(dir, unit), unitText(unit));
      mkdirSync(join(dir, `${unit}.d`));
      writeFileSync(join(dir, `${unit}.d`, '50-board.conf'), sandboxDropIn(board, '/data/ota-agent'));
    }
    const r = spawnSync('systemd-analyze', ['verify', ...OTA_UNITS.map((u) => join(dir, u))], { cwd: dir, encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
    assert.is(r.status, 0, r.stderr);
    assert.not.match(r.stderr, new RegExp(`${dir}|Unknown key|Failed to parse`), r.stderr);
  } finally {
    cleanup();
  }
});

test.run();
