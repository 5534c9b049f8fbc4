import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, linkSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { runMain, tempDir } from '../../support/tools.js';
import { randomBytes } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-cli-');
test.after(cleanup);

const p = (name: string): string => join(dir, name);
const old = Buffer.concat([randomBytes(20000, 1), Buffer.alloc(16384)]);
const neu = Buffer.concat([Buffer.alloc(4096), old.subarray(0, 18000), randomBytes(3000, 2)]);
writeFileSync(p('old.img'), old);
writeFileSync(p('new.img'), neu);

test('relative paths resolve against the CLI context cwd, not the process cwd', async () => {
  assert.is.not(process.cwd(), dir);
  const made = await runMain(fleetMain, ['delta', 'make', '--from', 'old.img', '--to', 'new.img', '--out', 'rel.delta'], { cwd: dir });
  assert.is(made.code, 0, made.stderr);
  assert.ok(existsSync(p('rel.delta')));
  assert.not.ok(existsSync(join(process.cwd(), 'rel.delta')));
  const info = await runMain(fleetMain, ['delta', 'info', 'rel.delta'], { cwd: dir });
  assert.is(info.code, 0, info.stderr);
  const applied = await runMain(agentMain, ['delta', 'apply', '--base', 'old.img', '--delta', 'rel.delta', '--out', 'rel.img'], { cwd: dir });
  assert.is(applied.code, 0, applied.stderr);
  assert.ok(Buffer.compare(readFileSync(p('rel.img')), neu) === 0);
});

test('delta make reports progress on stderr: one line redrawn on a terminal, a start line, periodic lines and an end line elsewhere', async () => {
  const tty = await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('tty.delta')], { stderrIsTTY: true });
  assert.is(tty.code, 0, tty.stderr);
  assert.not.ok(tty.stderr.slice(0, -1).includes('\n'), `one line on a terminal: ${JSON.stringify(tty.stderr)}`);
  assert.match(tty.stderr, /^\r\x1b\[Kmaking delta \S*tty\.delta \[\.+\]   0 %/);
  assert.match(tty.stderr, /\[#+\] 100 % \d+ bytes\n$/);
  assert.not.match(tty.stdout, /making/);
  const piped = await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('pipe.delta')]);
  assert.is(piped.code, 0, piped.stderr);
  // Elsewhere: a start line, periodic percentages (each tenth), an end line.
  assert.match(piped.stderr, /^making delta \S*pipe\.delta\.\.\.\n(making delta \S*pipe\.delta: \d+ %\n)*making delta \S*pipe\.delta: \d+ bytes\n$/);
  assert.not.match(piped.stderr, /\r/);
});

test('delta make prints sizes and time, delta info lists the segments, delta apply verifies', async () => {
  const made = await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('x.delta')]);
  assert.is(made.code, 0, made.stderr);
  assert.match(made.stdout, /delta .*x\.delta: \d+ bytes in 1 segments \(\d+\.\d s\)/);
  const info = await runMain(fleetMain, ['delta', 'info', p('x.delta')]);
  assert.is(info.code, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`target ${neu.length} bytes sha256 [0-9a-f]{64}`));
  assert.match(info.stdout, /1 segments:/);
  const applied = await runMain(agentMain, ['delta', 'apply', '--base', p('old.img'), '--delta', p('x.delta'), '--out', p('out.img')]);
  assert.is(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /verified/);
  assert.ok(Buffer.compare(readFileSync(p('out.img')), neu) === 0);
});

test('delta info reports the bytes each strategy wrote, as text and with --json; they sum to the target', async () => {
  await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('s.delta')]);
  const text = await runMain(fleetMain, ['delta', 'info', p('s.delta')]);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /strategies: target bytes written/);
  assert.match(text.stdout, /\n {2}literal +\d+ +\d+ +\d+\n/);
  const r = await runMain(fleetMain, ['delta', 'info', '--json', p('s.delta')]);
  assert.is(r.code, 0, r.stderr);
  const { strategies }: { strategies: Record<string, { targetBytes: number; costBytes: number }> } = JSON.parse(r.stdout);
  assert.equal(Object.keys(strategies), ['zero', 'image-copy', 'image-add', 'file-diff', 'exec-diff', 'gzip-rebuild', 'literal']);
  assert.is(Object.values(strategies).reduce((sum, k) => sum + k.targetBytes, 0), neu.length);
  // The 4 KiB of zeros, the old data moved by one block (copied), the 3000 new random bytes (literal).
  assert.is(strategies['zero']?.targetBytes, 4096);
  assert.ok((strategies['image-copy']?.targetBytes ?? 0) >= 16384);
  assert.ok((strategies['literal']?.targetBytes ?? 0) >= 3000);
  assert.is(strategies['literal']?.costBytes, strategies['literal']?.targetBytes);
});

test('delta info on a delta whose segment was altered exits 1 naming the segment', async () => {
  await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('c.delta')]);
  const bytes = readFileSync(p('c.delta'));
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
  writeFileSync(p('c.delta'), bytes);
  const r = await runMain(fleetMain, ['delta', 'info', p('c.delta')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /segment 0 does not match its sha256 .*\[DELTA_CORRUPT\]\n$/);
  assert.is(r.stderr.split('\n').length, 2, 'one line');
});

test('a full image (make without --from) applies without a base', async () => {
  const made = await runMain(fleetMain, ['delta', 'make', '--to', p('new.img'), '--out', p('full.delta')]);
  assert.is(made.code, 0, made.stderr);
  assert.match(made.stdout, /^full image /);
  const info = await runMain(fleetMain, ['delta', 'info', p('full.delta')]);
  assert.match(info.stdout, /full image/);
  const applied = await runMain(agentMain, ['delta', 'apply', '--delta', p('full.delta'), '--out', p('full.img')]);
  assert.is(applied.code, 0, applied.stderr);
  assert.ok(Buffer.compare(readFileSync(p('full.img')), neu) === 0);
});

test('apply with the wrong base exits 1 with a message naming the base', async () => {
  await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('y.delta')]);
  const r = await runMain(agentMain, ['delta', 'apply', '--base', p('new.img'), '--delta', p('y.delta'), '--out', p('bad.img')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /base image .* \[DELTA_WRONG_BASE\]/);
});

test('--out that is --base or --delta (same path, a symlink, a hard link) is refused before a byte is written', async () => {
  await runMain(fleetMain, ['delta', 'make', '--from', p('old.img'), '--to', p('new.img'), '--out', p('z.delta')]);
  writeFileSync(p('base.img'), old);
  linkSync(p('base.img'), p('base-link.img'));
  symlinkSync(p('base.img'), p('base-sym.img'));
  linkSync(p('z.delta'), p('z-link.delta'));
  const cases: [string, string, RegExp][] = [
    ['base.img', 'base.img', /--out .*base\.img is --base/], ['base-link.img', 'base.img', /is --base/], ['base-sym.img', 'base.img', /is --base/],
    ['z-link.delta', 'z.delta', /is --delta/],
  ];
  for (const [out, input, message] of cases) {
    const before = readFileSync(p(input));
    const r = await runMain(agentMain, ['delta', 'apply', '--base', 'base.img', '--delta', 'z.delta', '--out', out], { cwd: dir });
    assert.is(r.code, 1, out);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\[DELTA_OUT_IS_INPUT\]\n$/);
    assert.is(r.stderr.split('\n').length, 2, 'one line');
    assert.ok(Buffer.compare(readFileSync(p(input)), before) === 0, `${input} unchanged`);
  }
  assert.ok(Buffer.compare(readFileSync(p('base.img')), old) === 0);
});

test('a corrupt delta exits 1; a missing file exits 1; no subcommand exits 2', async () => {
  const bytes = readFileSync(p('x.delta'));
  bytes[bytes.length - 3]! ^= 1;
  writeFileSync(p('bad.delta'), bytes);
  const r = await runMain(agentMain, ['delta', 'apply', '--base', p('old.img'), '--delta', p('bad.delta'), '--out', p('c.img')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /DELTA_SEGMENT_HASH/);
  const missing = await runMain(fleetMain, ['delta', 'info', p('nope.delta')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /ENOENT/);
  const usage = await runMain(agentMain, ['delta']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /name a delta command/);
});

test.run();
