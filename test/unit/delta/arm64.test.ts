// ARM64 PC-relative references: the displacement codec is exact on every word and pc (the field is a
// bijection given the pc), a prediction with nothing moved is the identity, a uniform move keeps every
// relative reference, and the exec source reads any range as the whole-file prediction does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { arm64PredictInContext, arm64Target, arm64WithTarget, ExecSource, predictWords } from '../../../agent/src/delta/index.js';
import { EXEC_ARCH, type ExecParams } from '../../../agent/src/formats/index.js';
import { randomBytes } from '../../support/delta.js';

const params = { seed: 0x61726d, numRuns: 20000 };
const word = fc.integer({ min: 0, max: 0xffffffff });
// Above every displacement's reach (ADRP: 4 GiB), so that every target is a valid address.
const pc = fc.integer({ min: 0, max: 2 ** 40 }).map((p) => 2 ** 33 + p * 4);
const identity = { starts: [], shifts: [] };

test('known encodings: BL, B.cond, CBZ, TBZ, LDR literal, ADR, ADRP', () => {
  assert.is(arm64Target(0x94000400, 0x1000), 0x2000); // bl +0x1000
  assert.is(arm64Target(0x97ffffff, 0x1000), 0xffc); // bl -4
  assert.is(arm64Target(0x54000040, 0x1000), 0x1008); // b.eq +8
  assert.is(arm64Target(0xb4000060, 0x1000), 0x100c); // cbz x0, +12
  assert.is(arm64Target(0x36000080, 0x1000), 0x1010); // tbz w0, #0, +16
  assert.is(arm64Target(0x58000040, 0x1000), 0x1008); // ldr x0, +8
  assert.is(arm64Target(0x30000000, 0x1000), 0x1001); // adr x0, +1
  assert.is(arm64Target(0x90000180, 0x1234), 0x31000); // adrp x0, +0x30 pages
  assert.is(arm64Target(0xd503201f, 0x1000), undefined); // nop
  assert.is(arm64WithTarget(0x94000000, 0x1000, 0x2000), 0x94000400);
});

test('property: re-aiming a word at its own target gives the word back, for every word and pc', () => {
  fc.assert(fc.property(word, pc, (w, p) => {
    const t = arm64Target(w, p);
    assert.is(arm64WithTarget(w, p, t ?? 0), w >>> 0);
  }), params);
});

test('property: re-aiming changes only the displacement field (the word keeps its class) and reaches the target', () => {
  fc.assert(fc.property(word, pc, fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), (w, p, by) => {
    const t = arm64Target(w, p);
    if (t === undefined) return;
    const moved = arm64WithTarget(w, p, t + by * 4096);
    assert.ok(arm64Target(moved, p) !== undefined);
    assert.is(arm64WithTarget(moved, p, t), w >>> 0);
  }), params);
});

test('property: with nothing moved, or everything moved by the same pages, the prediction is the word itself', () => {
  fc.assert(fc.property(word, pc, fc.option(word), fc.option(word), fc.integer({ min: -1000, max: 1000 }), (w, p, prev, next, pages) => {
    const same = { starts: [0], shifts: [pages * 4096] };
    assert.is(arm64PredictInContext(w, p, identity, prev ?? undefined, next ?? undefined), w >>> 0);
    assert.is(arm64PredictInContext(w, p, same, prev ?? undefined, next ?? undefined), w >>> 0);
  }), params);
});

test('a call from moved code to code that stayed is re-aimed; an ADRP pair to data that moved is re-aimed as one', () => {
  const moved = { starts: [0, 0x2000], shifts: [0, 0x40] };
  // bl at 0x2000 to 0x1000; the call moves to 0x2040, its target stays.
  assert.is(arm64Target(arm64PredictInContext(0x97fffc00, 0x2000, moved, undefined, undefined), 0x2040), 0x1000);
  // adrp x0 at 0x1000 + add x0, x0 #0xff8: 0x2ff8 moves to 0x3038 (next page, low bits 0x38).
  const adrp = arm64WithTarget(0x90000000, 0x1000, 0x2000);
  const add = 0x91000000 | (0xff8 << 10);
  const high = arm64PredictInContext(adrp, 0x1000, moved, undefined, add);
  const low = arm64PredictInContext(add, 0x1004, moved, adrp, undefined);
  assert.is(arm64Target(high, 0x1000), 0x3000);
  assert.is((low >>> 10) & 0xfff, 0x38);
});

test('property: the exec source reads any range exactly as the whole-file prediction', async () => {
  const file = randomBytes(40000, 9);
  // Plenty of PC-relative words: every fourth word is a BL or an ADRP/ADD pair.
  for (let o = 0; o + 8 <= file.length; o += 16) { file.writeUInt32LE((0x94000000 | (o & 0x3ffffff)) >>> 0, o); file.writeUInt32LE((0x90000000 | ((o >> 4) & 31)) >>> 0, o + 8); }
  const x: ExecParams = { arch: EXEC_ARCH.arm64, sections: [{ fileOffsetBytes: 1000, lengthBytes: 30000, address: 0x41000 }], map: { starts: [0x41000, 0x45000], shifts: [0x10, -0x2004] } };
  const whole = Uint8Array.from(file);
  predictWords(whole, 0, x);
  assert.ok(!Buffer.from(whole).equals(file));
  const plain = { sizeBytes: file.length, read: async (into: Uint8Array, at: number): Promise<void> => { into.set(file.subarray(at, at + into.length)); } };
  const source = new ExecSource(plain, x);
  await fc.assert(fc.asyncProperty(fc.nat(file.length - 1), fc.integer({ min: 1, max: 70000 }), async (at, n) => {
    const into = new Uint8Array(Math.min(n, file.length - at));
    await source.read(into, at);
    assert.ok(Buffer.from(into).equals(whole.subarray(at, at + into.length)));
  }), { seed: 7, numRuns: 300 });
});

test.run();
