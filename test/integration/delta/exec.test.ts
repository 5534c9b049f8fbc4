// Executable-aware diffs on real ARM64 code: a C library cross-compiled twice, the second with a function
// inserted near the start (so the code after it moves, as in a security fix), in two ext4 images. The
// delta that diffs against the predicted old library (PC-relative references re-aimed) is smaller
// than the plain file diff, says so in its strategies and format version, and rebuilds B exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDeltaFile } from '../../../agent/src/delta/index.js';
import { parseDeltaHeader } from '../../../agent/src/formats/index.js';
import { bsdiff, encodeDelta } from '../../../fleet/src/delta/index.js';
import { execDiff, type PackedFile } from '../../../fleet/src/delta/exec.js';
import { readElf } from '../../../fleet/src/delta/elf.js';
import { readPe } from '../../../fleet/src/delta/pe.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { fleetOk } from '../../support/sim-flow.js';
import { gate, missingReason } from '../../support/skip.js';
import { ext4Image } from '../../support/ext4-image.js';

const CC = 'aarch64-linux-gnu-gcc-12';
const OBJCOPY = 'aarch64-linux-gnu-objcopy';
const missing = missingTools('ARM64 exec delta tests', CC, OBJCOPY, 'mke2fs');
const it = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-delta-exec-');
test.after(cleanup);

/** A C library of `n` functions calling each other, using globals and strings; `inserted` adds one function near the start. */
function source(n: number, inserted: boolean): string {
  let s = 'int printf(const char *, ...);\nint table[64];\n';
  for (let i = 0; i < n; i++) s += `int f${i}(int x);\n`;
  for (let i = 0; i < n; i++) {
    if (inserted && i === 20) s += 'int inserted(int x) { for (int k = 0; k < x; k++) table[k & 63] += k * 3; return table[x & 63] + printf("inserted %d\\n", x); }\n';
    const call = inserted && i === 20 ? ' + inserted(x)' : '';
    s += `int f${i}(int x) { if (x <= 0) return table[${i % 64}]; table[${(i * 5) % 64}] += x; `
      + `return (x & 1) ? f${(i * 7 + 3) % n}(x - 1) + ${i} : f${(i * 13 + 5) % n}(x - 2) ^ printf("f${i} %d\\n", x)${call}; }\n`;
  }
  return s;
}

function compile(name: string, inserted: boolean, functions = 800, kind = '-shared'): Buffer {
  const c = join(dir, `${name}.c`);
  writeFileSync(c, source(functions, inserted));
  const out = join(dir, `${name}.so`);
  execFileSync(CC, ['-O2', '-fPIC', kind, '-nostdlib', '-fvisibility=hidden', '-o', out, c]);
  return readFileSync(out);
}

it('a relocatable object (a kernel module: no loadable segments, every section at 0) gets no exec diff', () => {
  const a = compile('oa', false, 50, '-c');
  const b = compile('ob', true, 50, '-c');
  const packed = (bytes: Buffer): PackedFile => ({ bytes, extents: [{ logicalBytes: 0, physicalBytes: 0, lengthBytes: bytes.length }] });
  assert.is(readElf(a)?.loads.length, 0);
  assert.is(execDiff(packed(a), packed(b), bsdiff(a, b)), undefined);
});

it('an inserted function: the exec diff is at most 0.7 x the plain file diff, and rebuilds B exactly', async () => {
  const libA = compile('a', false);
  const libB = compile('b', true);
  assert.is(readElf(libA)?.machine, 183);
  const a = ext4Image(dir, 'a', { 'usr/lib/libgen.so.1': libA, 'etc/motd': Buffer.from('hello\n') });
  const b = ext4Image(dir, 'b', { 'usr/lib/libgen.so.1': libB, 'etc/motd': Buffer.from('hello\n') });
  const plain = encodeDelta(a, b, { execAware: false });
  const aware = encodeDelta(a, b);
  const delta = aware.delta;
  writeFileSync(join(dir, 'old.img'), a);
  writeFileSync(join(dir, 'x.delta'), delta);
  await applyDeltaFile({ basePath: join(dir, 'old.img'), deltaPath: join(dir, 'x.delta'), targetPath: join(dir, 'new.img') });
  assert.ok(Buffer.compare(readFileSync(join(dir, 'new.img')), b) === 0);
  console.log(`# ARM64 library (${libB.length} bytes): exec-aware ${delta.length} bytes, plain file diff ${plain.delta.length} bytes`);
  assert.ok(aware.stats.strategies.exec > libB.length / 2, `exec strategy wrote ${aware.stats.strategies.exec} bytes`);
  assert.is(plain.stats.strategies.exec, 0);
  // What is left is the new function itself and the non-code sections (.eh_frame, symbols, relocations).
  assert.ok(delta.length * 10 <= plain.delta.length * 7, `${delta.length} vs ${plain.delta.length}`);
  assert.is(parseDeltaHeader(delta).formatVersion, 2);
  assert.is(parseDeltaHeader(plain.delta).formatVersion, 1);
  // the release names the container version the delta needs, so an agent that reads only version 1 takes the full image
  writeFileSync(join(dir, 'new-b.img'), b);
  await fleetOk(dir, 'keygen', '--out', 'keys');
  await fleetOk(dir, 'release', '--image', 'new-b.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel', '--from', 'old.img');
  writeFileSync(join(dir, 'plain.delta'), plain.delta);
  await fleetOk(dir, 'release', '--image', 'new-b.img', '--version', '2', '--hardware', 'hw', '--keys', 'keys', '--out', 'rel-plain', '--delta', 'plain.delta@old.img');
  const formats = (rel: string): unknown[] => {
    const doc: unknown = JSON.parse(readFileSync(join(dir, rel, 'release.json'), 'utf8'));
    const signed: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'signed') : undefined;
    const list: unknown = typeof signed === 'object' && signed !== null ? Reflect.get(signed, 'deltas') : undefined;
    return Array.isArray(list) ? list.map((d: unknown) => (typeof d === 'object' && d !== null ? Reflect.get(d, 'format') : undefined)) : [];
  };
  assert.equal(formats('rel'), ['otadelta-2']);
  assert.equal(formats('rel-plain'), ['otadelta']);
});

/**
 * A flat ARM64 image with a PE header in front, as Debian's arm64 vmlinuz (the kernel Image with its EFI stub):
 * the library's loadable bytes (objcopy -O binary) as one executable section at 64 KiB, file offset = address.
 */
function peImage(name: string, lib: Buffer): Buffer {
  writeFileSync(join(dir, `${name}.elf`), lib);
  execFileSync(OBJCOPY, ['-O', 'binary', join(dir, `${name}.elf`), join(dir, `${name}.bin`)]);
  const code = readFileSync(join(dir, `${name}.bin`));
  const at = 0x10000;
  const out = Buffer.alloc(at + code.length);
  out.write('MZ', 0, 'latin1');
  out.writeUInt32LE(0x40, 0x3c);
  out.write('PE\0\0', 0x40, 'latin1');
  out.writeUInt16LE(0xaa64, 0x44); // machine: ARM64
  out.writeUInt16LE(1, 0x46); // one section
  out.writeUInt16LE(0, 0x54); // no optional header: the section table follows
  const section = 0x40 + 24;
  out.write('.text', section, 'latin1');
  out.writeUInt32LE(code.length, section + 8);
  out.writeUInt32LE(at, section + 12);
  out.writeUInt32LE(code.length, section + 16);
  out.writeUInt32LE(at, section + 20);
  out.writeUInt32LE(0x60000020, section + 36); // code, execute, read
  code.copy(out, at);
  return out;
}

it('an ARM64 kernel Image with an EFI stub (PE): its code section is read, the exec diff beats the plain diff and rebuilds B', async () => {
  const imgA = peImage('ka', compile('ka', false));
  const imgB = peImage('kb', compile('kb', true));
  const pe = readPe(imgA);
  assert.is(pe?.machine, 183);
  assert.equal(pe?.sections, [{ fileOffsetBytes: 0x10000, lengthBytes: (imgA.length - 0x10000) & ~3, address: 0x10000 }]);
  assert.is(readPe(Buffer.from('MZ not a PE file at all, too short to hold one.............')), undefined);
  const a = ext4Image(dir, 'pa', { 'boot/vmlinuz-1': imgA });
  const b = ext4Image(dir, 'pb', { 'boot/vmlinuz-2': imgB });
  const plain = encodeDelta(a, b, { execAware: false });
  const aware = encodeDelta(a, b);
  writeFileSync(join(dir, 'pold.img'), a);
  writeFileSync(join(dir, 'p.delta'), aware.delta);
  await applyDeltaFile({ basePath: join(dir, 'pold.img'), deltaPath: join(dir, 'p.delta'), targetPath: join(dir, 'pnew.img') });
  assert.ok(Buffer.compare(readFileSync(join(dir, 'pnew.img')), b) === 0);
  console.log(`# PE Image (${imgB.length} bytes, renamed): exec-aware ${aware.delta.length} bytes, plain file diff ${plain.delta.length} bytes`);
  assert.ok(aware.stats.strategies.exec > (imgB.length - 0x10000) / 2, `exec strategy wrote ${aware.stats.strategies.exec} bytes`);
  assert.ok(aware.delta.length * 10 <= plain.delta.length * 8, `${aware.delta.length} vs ${plain.delta.length}`);
});

test.run();
