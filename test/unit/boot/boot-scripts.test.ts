/**
 * The two-name boot script update (agent/src/boot/boot-scripts.ts), cut at every step: an update of a
 * Raspberry Pi 3 whose release changes boot.scr and slot B's device tree is run with the boot partition's
 * writes and the env's writes in the agent's order (stage, arm, commit; or stage, arm, revert), and the
 * power is cut after every write, rename, removal and directory fsync, and inside every write (torn at
 * the header, inside it, half way, one byte short). After each cut U-Boot's distro boot is modelled
 * (boot.scr.uimg, then boot.scr; a script image with a bad CRC is skipped, as `source` refuses it) and
 * the chosen script is run in the boot-script simulator on the env of that moment. Each cut must boot,
 * boot the slot the env chose with that slot's own tree, and run the committed or the new script (both
 * are written for both slots). QEMU boots the distinct states with real U-Boot (test/qemu-arm/raspi.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BOOT_SCRIPT, BOOT_SCRIPT_NEXT, BootScripts, UBootControl, boardPrologue, fileKey, isValidScriptImage, makeScriptImage,
  parseBoardConfig, parseScriptImage, simulateBoot, type BootDir, type SimFile,
} from '../../../agent/src/boot/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { FakeBootEnv } from '../../support/fake-boot-env.js';
import { QEMU_DEFAULT_ENV, bootScript, repoPath } from '../../support/boot-device.js';
import { tempDir } from '../../support/tools.js';

const board = parseBoardConfig(readFileSync(repoPath('board-configs/rpi-3.json'), 'utf8'), 'board-configs/rpi-3.json');
const OLD = boardPrologue(board) + bootScript();
const NEW = `echo "ota: boot script of release 2"\n${OLD}`;
const OLD_IMAGE = makeScriptImage(OLD, 'arm64', 'ota-agent A/B boot');
const NEW_IMAGE = makeScriptImage(NEW, 'arm64', 'ota-agent A/B boot');
const FDTFILE = 'broadcom/bcm2837-rpi-3-b.dtb';
const FDT_ADDR_R = '0x02600000';
/** Each slot's tree, told apart by its size (the script's last load sets ${filesize}). */
const TREE_BYTES = { A: 0xa000, B: 0xb000 } as const;

type Op = { readonly kind: 'write'; readonly name: string; readonly bytes: Buffer } | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'remove'; readonly name: string } | { readonly kind: 'sync' } | { readonly kind: 'env'; readonly vars: Map<string, string> };

/** A boot partition in memory that logs every operation, so the test can replay any prefix of them. */
class LoggedDir implements BootDir {
  readonly files = new Map<string, Buffer>();
  constructor(readonly log: Op[]) {}
  read(name: string): Promise<Buffer | undefined> { return Promise.resolve(this.files.get(name)); }
  write(name: string, bytes: Buffer): Promise<void> { this.files.set(name, bytes); this.log.push({ kind: 'write', name, bytes }); return Promise.resolve(); }
  rename(from: string, to: string): Promise<void> {
    const bytes = this.files.get(from);
    if (bytes === undefined) return Promise.reject(new Error(`rename: no ${from}`));
    this.files.delete(from); this.files.set(to, bytes); this.log.push({ kind: 'rename', from, to });
    return Promise.resolve();
  }
  remove(name: string): Promise<void> { this.files.delete(name); this.log.push({ kind: 'remove', name }); return Promise.resolve(); }
  syncDir(): Promise<void> { this.log.push({ kind: 'sync' }); return Promise.resolve(); }
}

/** What the media hold after `ops`, the last one torn to `tornBytes` when given (a write). */
function replay(start: ReadonlyMap<string, Buffer>, env0: Map<string, string>, ops: readonly Op[], tornBytes?: number): { files: Map<string, Buffer>; env: Map<string, string> } {
  const files = new Map(start);
  let env = env0;
  ops.forEach((op, i) => {
    const torn = i === ops.length - 1 ? tornBytes : undefined;
    if (op.kind === 'write') files.set(op.name, torn === undefined ? op.bytes : op.bytes.subarray(0, torn));
    if (op.kind === 'rename') { const b = files.get(op.from); if (b !== undefined) { files.delete(op.from); files.set(op.to, b); } }
    if (op.kind === 'remove') files.delete(op.name);
    if (op.kind === 'env') env = op.vars;
  });
  return { files, env };
}

/**
 * Distro boot: the first of boot.scr.uimg, boot.scr that `source` accepts (a bad CRC: `SCRIPT FAILED:
 * continuing...`, the next name; test/qemu-arm/raspi.test.ts shows Debian's rpi_3 U-Boot doing it). None: the board stops.
 */
function powerOn(files: ReadonlyMap<string, Buffer>, env: Map<string, string>): { script: string; slot: string | null; tree: string | undefined; fdt: string | undefined } {
  const image = [BOOT_SCRIPT_NEXT, BOOT_SCRIPT].map((n) => files.get(n)).find((b) => b !== undefined && isValidScriptImage(b));
  if (image === undefined) throw new Error(`U-Boot stops: no valid boot script (files: ${[...files.keys()].join(', ')})`);
  const script = parseScriptImage(image, 'boot script').text;
  const trees = new Map<string, SimFile>([
    [fileKey('mmc', '0:2', `/boot/dtbs/${FDTFILE}`), { kind: 'blob', sizeBytes: TREE_BYTES.A }],
    [fileKey('mmc', '0:3', `/boot/dtbs/${FDTFILE}`), { kind: 'blob', sizeBytes: TREE_BYTES.B }],
  ]);
  // U-Boot's env on the Pi is its defaults (the image writes them into uboot.env) with the state on top
  const defaults = new Map([...QEMU_DEFAULT_ENV, ['fdt_addr', '2eff2e00'], ['fdt_addr_r', FDT_ADDR_R], ['fdtfile', FDTFILE]]);
  const run = simulateBoot(script, {
    nativeEnv: new Map([...defaults, ...env]), defaultEnv: defaults,
    bootVars: new Map([['devtype', 'mmc'], ['devnum', '0'], ['distro_bootpart', '1']]), files: trees, ulongBits: 64,
  });
  if (run.outcome.kind !== 'boot') return { script, slot: null, tree: undefined, fdt: undefined };
  const size = parseInt(run.env.get('filesize') ?? '', 16);
  const tree = Object.entries(TREE_BYTES).find(([, b]) => b === size)?.[0];
  return { script, slot: run.outcome.slot, tree, fdt: run.outcome.command.split(' ')[3] };
}

/** The agent's order for one update, with the env writes of the real UBootControl in between. */
async function update(outcome: 'commit' | 'revert'): Promise<{ ops: Op[]; start: Map<string, Buffer>; env0: Map<string, string> }> {
  const { dir, cleanup } = tempDir('ota-boot-scripts-');
  try {
    const cmdlinePath = join(dir, 'cmdline');
    const boot = (slot: string): UBootControl => { writeFileSync(cmdlinePath, `root=x ota.slot=${slot} ota.boot=1\n`); return new UBootControl({ env, cmdlinePath }); };
    const env = new FakeBootEnv([['BOOT_ORDER', 'A B'], ['BOOT_A_LEFT', '3'], ['BOOT_B_LEFT', '3'], ['OTA_BOOT_COUNT', '1']]);
    await boot('A').markBad('B'); // the install took B out of the order before writing it
    const env0 = new Map(env.vars);
    const ops: Op[] = [];
    const partition = new LoggedDir(ops);
    partition.files.set(BOOT_SCRIPT, OLD_IMAGE);
    const start = new Map(partition.files);
    const scripts = new BootScripts(partition, 'test');
    const envWrite = (): void => { ops.push({ kind: 'env', vars: new Map(env.vars) }); };
    await scripts.stage(NEW_IMAGE);                                     // arming: the script first,
    await boot('A').setPrimary('B'); envWrite();                        // then the trial
    if (outcome === 'commit') {
      await boot('B').markGood('B'); envWrite();                        // committing: the env first,
      await scripts.commit();                                           // then boot.scr
    } else {
      await boot('B').markBad('B'); envWrite();                         // reverting
      await scripts.discard();
    }
    return { ops, start, env0 };
  } finally {
    cleanup();
  }
}

/** Every cut of `ops`: after each step, and inside each write. */
function cuts(ops: readonly Op[]): { at: string; prefix: Op[]; torn?: number }[] {
  const out: { at: string; prefix: Op[]; torn?: number }[] = [{ at: 'before the first step', prefix: [] }];
  ops.forEach((op, i) => {
    const prefix = ops.slice(0, i + 1);
    if (op.kind === 'write') {
      for (const torn of [0, 1, 63, 64, 72, op.bytes.length >> 1, op.bytes.length - 1]) out.push({ at: `inside step ${i + 1} (${op.kind} ${op.name}, ${torn} bytes)`, prefix, torn });
    }
    out.push({ at: `after step ${i + 1} (${op.kind}${op.kind === 'write' || op.kind === 'remove' ? ` ${op.name}` : op.kind === 'rename' ? ` ${op.from} -> ${op.to}` : ''})`, prefix });
  });
  return out;
}

for (const outcome of ['commit', 'revert'] as const) {
  test(`every power cut of an update that ends in a ${outcome} boots a slot with its own tree and the committed or the new script`, async () => {
    const { ops, start, env0 } = await update(outcome);
    assert.equal(ops.filter((o) => o.kind === 'env').length, 2, 'two env writes: arm, then commit or revert');
    const all = cuts(ops);
    const seen = new Set<string>();
    for (const cut of all) {
      const { files, env } = replay(start, env0, cut.prefix, cut.torn);
      const booted = powerOn(files, env);
      const primary = env.get('BOOT_ORDER')?.split(' ')[0];
      assert.ok(booted.slot === 'A' || booted.slot === 'B', `${cut.at}: boots a slot`);
      assert.is(booted.slot, primary, `${cut.at}: the slot the env chose`);
      assert.is(booted.tree, booted.slot ?? '', `${cut.at}: slot ${booted.slot ?? '?'} booted with its own tree`);
      assert.is(booted.fdt, FDT_ADDR_R, `${cut.at}: the slot's tree, not the firmware's`);
      assert.ok(booted.script === OLD || booted.script === NEW, `${cut.at}: the committed or the new script`);
      seen.add(`${booted.slot ?? '?'}:${booted.script === NEW ? 'new' : 'old'}`);
    }
    const end = replay(start, env0, ops);
    assert.equal([...end.files.keys()], [BOOT_SCRIPT], 'at rest: boot.scr alone');
    assert.ok(end.files.get(BOOT_SCRIPT)?.equals(outcome === 'commit' ? NEW_IMAGE : OLD_IMAGE), `after the ${outcome}: boot.scr is the ${outcome === 'commit' ? 'new' : 'committed'} script`);
    assert.equal([...seen].sort(), outcome === 'commit' ? ['A:new', 'A:old', 'B:new'] : ['A:new', 'A:old', 'B:new'], 'the states the cuts reach');
    assert.ok(all.filter((c) => c.torn !== undefined).length >= 7, `torn writes among the ${all.length} cuts`);
  });
}

test('stage and commit are idempotent (a resumed step writes nothing new), and commit drops a damaged boot.scr.uimg without promoting it', async () => {
  const log: Op[] = [];
  const dir = new LoggedDir(log);
  dir.files.set(BOOT_SCRIPT, OLD_IMAGE);
  const scripts = new BootScripts(dir, 'test');
  await scripts.stage(NEW_IMAGE);
  const after = log.length;
  await scripts.stage(NEW_IMAGE);
  assert.is(log.length, after, 'the same script staged again: no write');
  dir.files.set(BOOT_SCRIPT_NEXT, NEW_IMAGE.subarray(0, 100));
  assert.is(await scripts.commit(), 'torn');
  assert.equal([...dir.files.keys()], [BOOT_SCRIPT]);
  assert.ok(dir.files.get(BOOT_SCRIPT)?.equals(OLD_IMAGE), 'boot.scr unchanged');
  assert.is(await scripts.commit(), 'none', 'nothing staged: nothing to do');
});

test('the check has teeth: boot.scr rewritten in place, one name only, leaves cuts where U-Boot stops', async () => {
  const ops: Op[] = [];
  const dir = new LoggedDir(ops);
  dir.files.set(BOOT_SCRIPT, OLD_IMAGE);
  const start = new Map(dir.files);
  await dir.write(BOOT_SCRIPT, NEW_IMAGE);
  await dir.syncDir();
  const env = new Map([['BOOT_ORDER', 'A'], ['BOOT_A_LEFT', '3'], ['BOOT_B_LEFT', '0'], ['OTA_BOOT_COUNT', '1']]);
  const stuck = cuts(ops).filter((c) => {
    try { powerOn(replay(start, env, c.prefix, c.torn).files, env); return false; } catch { return true; }
  });
  assert.equal(stuck.map((c) => c.torn), [0, 1, 63, 64, 72, NEW_IMAGE.length >> 1, NEW_IMAGE.length - 1], 'every torn write of a lone boot.scr stops the board');
});

test('stage refuses bytes that are not a script image, before writing anything', async () => {
  const log: Op[] = [];
  const scripts = new BootScripts(new LoggedDir(log), 'test');
  const refused = await scripts.stage(Buffer.from('kernel=u-boot.bin\n')).then(() => undefined, (err: unknown) => err);
  assert.instance(refused, OtaError);
  assert.is(refused instanceof OtaError ? refused.code : '', 'BOOT_SCRIPT_IMAGE');
  assert.is(log.length, 0);
});

test.run();
