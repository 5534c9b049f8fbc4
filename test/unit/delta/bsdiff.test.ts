import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { bsdiff, suffixArray } from '../../../fleet/src/delta/index.js';
import { randomBytes } from '../../support/delta.js';

function naiveSuffixArray(data: Uint8Array): number[] {
  const idx = Array.from({ length: data.length + 1 }, (_, i) => i);
  return idx.sort((a, b) => Buffer.compare(data.subarray(a), data.subarray(b)));
}

function rebuild(old: Uint8Array, neu: Uint8Array): Uint8Array {
  const out = new Uint8Array(neu.length);
  let expect = 0;
  for (const p of bsdiff(old, neu)) {
    assert.is(p.newOffsetBytes, expect, 'pieces are contiguous');
    for (let i = 0; i < p.lengthBytes; i++) {
      const delta = neu[p.newOffsetBytes + i]! - (p.kind === 'add' ? old[p.oldOffsetBytes + i]! : 0);
      out[p.newOffsetBytes + i] = (p.kind === 'add' ? old[p.oldOffsetBytes + i]! : 0) + delta;
    }
    expect += p.lengthBytes;
  }
  assert.is(expect, neu.length, 'pieces cover the new file');
  return out;
}

test('suffix array matches a naive sort (random and repetitive inputs)', () => {
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.array(fc.constantFrom(0, 1), { maxLength: 300 }).map((a) => Uint8Array.from(a))), (data) => {
    assert.equal([...suffixArray(data)], naiveSuffixArray(data));
  }));
});

test('suffix array of a long run of one byte', () => {
  const data = new Uint8Array(5000).fill(7);
  assert.equal([...suffixArray(data)], naiveSuffixArray(data));
});

test('bsdiff pieces cover the new file and read inside the old one', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (old, neu) => {
    for (const p of bsdiff(old, neu)) if (p.kind === 'add') assert.ok(p.oldOffsetBytes >= 0 && p.oldOffsetBytes + p.lengthBytes <= old.length);
    rebuild(old, neu);
  }));
});

test('a recompiled-like file (scattered changes) is mostly ADD with few literal bytes', () => {
  const old = randomBytes(50000, 11);
  const neu = Buffer.from(old.map((b, i) => (i % 200 === 0 ? b + 1 : b)));
  const pieces = bsdiff(old, neu);
  const literal = pieces.filter((p) => p.kind === 'literal').reduce((s, p) => s + p.lengthBytes, 0);
  assert.ok(literal < 1000, `${literal} literal bytes`);
});

test.run();
