/**
 * The strict JSON parser: caps before parsing, duplicate keys, depth without
 * recursion, exact sizes, and property-based fuzzing (no crash, no hang, and
 * agreement with JSON.parse on whatever it accepts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  METADATA_LIMITS, canonicalBytes, checkPayloadSize, hasOwn, isRefusal, parseStrictJson, type JsonValue, type RefusalReason,
} from '../../../agent/src/formats/index.js';

const parse = (text: string | Uint8Array, limits = METADATA_LIMITS): JsonValue =>
  parseStrictJson(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, limits, 'test');

function refusedAs(text: string | Uint8Array, reason: RefusalReason, limits = METADATA_LIMITS): void {
  try {
    parse(text, limits);
    assert.unreachable(`parsed; expected ${reason}`);
  } catch (err) {
    assert.ok(isRefusal(err), String(err));
    assert.is(err.reason, reason, err.message);
  }
}

test('parses what JSON.parse parses, for ordinary documents', () => {
  for (const t of ['{"a":[1,-2,3.5e2,true,false,null,"x\\u00e9\\ud83d\\ude00\\n"]}', ' [ ] ', '"s"', '0', '{"":{}}']) {
    assert.equal(parse(t), JSON.parse(t));
  }
});

test('duplicate keys are refused, at any depth, including __proto__', () => {
  refusedAs('{"a":1,"a":1}', 'duplicate-key');
  refusedAs('{"x":[{"b":1,"c":2,"b":3}]}', 'duplicate-key');
  refusedAs('{"__proto__":1,"__proto__":1}', 'duplicate-key');
  refusedAs('{"a":1,"\\u0061":2}', 'duplicate-key');
});

test('__proto__ is an ordinary member and does not touch the prototype', () => {
  const v = parse('{"__proto__":{"polluted":true}}');
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v) && hasOwn(v, '__proto__'));
  assert.is(Object.getPrototypeOf(v), Object.prototype);
  assert.is(Reflect.get({}, 'polluted'), undefined);
});

test('10,000-deep nesting is refused as too-deep, without recursion', () => {
  refusedAs(`${'['.repeat(10_000)}${']'.repeat(10_000)}`, 'too-deep');
  refusedAs(`${'{"a":'.repeat(10_000)}0${'}'.repeat(10_000)}`, 'too-deep');
  const deep = { maxBytes: 10_000_000, maxDepth: 1_000_000 };
  const v = parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, deep); // iterative: no stack overflow even when allowed
  assert.ok(Array.isArray(v));
  assert.ok(Array.isArray(parse(`${'['.repeat(32)}${']'.repeat(32)}`)));
  refusedAs(`${'['.repeat(33)}${']'.repeat(33)}`, 'too-deep');
});

test('the size cap is applied before parsing (an oversize input is not parsed at all)', () => {
  refusedAs(new Uint8Array(METADATA_LIMITS.maxBytes + 1).fill(0x5b), 'oversize');
  refusedAs(new Uint8Array(METADATA_LIMITS.maxBytes).fill(0x5b), 'too-deep');
});

test('lengths 2^31-1, 2^31, 2^32-1, 2^32, 2^32+1 are compared exactly (no 32-bit truncation)', () => {
  const lengths = [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1];
  for (const cap of lengths) {
    for (const n of lengths) {
      let outcome = 'ok';
      try { checkPayloadSize(n, cap, 'x'); } catch (err) { outcome = isRefusal(err, 'oversize') && err.message.includes(`${n} bytes`) ? 'oversize' : String(err); }
      assert.is(outcome, n <= cap ? 'ok' : 'oversize', `${n} against cap ${cap}`);
    }
  }
  // 2^32+1 truncated to 32 bits would be 1: it must still be over a 1 KiB cap.
  assert.throws(() => checkPayloadSize(2 ** 32 + 1, 1024, 'x'), (e: unknown) => isRefusal(e, 'oversize'));
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) assert.throws(() => checkPayloadSize(bad, 1024, 'x'), (e: unknown) => isRefusal(e, 'malformed'));
});

test('numbers keep their value: 2^53 and 1e308 parse as numbers (the metadata layer refuses them)', () => {
  assert.is(parse('9007199254740992'), 2 ** 53);
  assert.is(parse('1e308'), 1e308);
  refusedAs('1e400', 'malformed');
  for (const t of ['01', '1.', '.5', '+1', '-', '1e', 'NaN', 'Infinity', '0x10']) refusedAs(t, 'malformed');
});

test('malformed text: bad UTF-8, BOM, control characters, lone surrogates, trailing text', () => {
  refusedAs(Uint8Array.from([0x22, 0xc3, 0x28, 0x22]), 'malformed');
  refusedAs(Uint8Array.from([0xef, 0xbb, 0xbf, 0x31]), 'malformed');
  for (const t of ['"a\u0001"', '"\\ud800"', '"\\udc00"', '"\\ud800\\u0041"', '{} x', '[1,]', '{"a":1,}', '{"a" 1}', '[1 2]', '', ' ', '"\\x"', "'a'"]) {
    refusedAs(t, 'malformed');
  }
});

const runs = { numRuns: 400, interruptAfterTimeLimit: 5_000 };

test('fuzz: arbitrary bytes never crash the parser: a value or a Refusal', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    try { parse(bytes); } catch (err) { if (!isRefusal(err)) throw err; }
  }), runs);
});

test('fuzz: whatever the parser accepts, JSON.parse accepts with the same value', () => {
  const jsonish = fc.stringMatching(/^[[\]{}",:0-9a-z\\ .eE+-]{0,60}$/);
  fc.assert(fc.property(jsonish, (text) => {
    let ours: JsonValue | undefined;
    try { ours = parse(text); } catch (err) { if (!isRefusal(err)) throw err; return; }
    assert.equal(ours, JSON.parse(text));
  }), runs);
});

test('fuzz: canonical bytes of any integer-only JSON value parse back to the same bytes (or the value is refused for a control character / lone surrogate)', () => {
  const value = fc.letrec<{ v: JsonValue }>((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string({ unit: 'binary' }),
      fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ unit: 'binary' }), tie('v'), { maxKeys: 4 })),
  })).v;
  fc.assert(fc.property(value, (v) => {
    let bytes: Uint8Array;
    try { bytes = canonicalBytes(v); } catch (err) {
      assert.ok(isRefusal(err, 'malformed') && /control character|lone surrogate/.test(err.message), String(err));
      return;
    }
    assert.equal(canonicalBytes(parse(bytes, { maxBytes: 1 << 20, maxDepth: 64 })), bytes);
  }), runs);
});

test('fuzz: mutated valid documents never crash or hang the parser', () => {
  const doc = Buffer.from('{"signed":{"_type":"release","version":3,"hardware":["hw-a"],"deltas":[{"sizeBytes":10}]},"signatures":[]}');
  fc.assert(fc.property(fc.nat(doc.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(doc.length), (at, byte, cut) => {
    const bad = Uint8Array.from(doc.subarray(0, Math.max(cut, at + 1)));
    bad[at] = byte;
    try { parse(bad); } catch (err) { if (!isRefusal(err)) throw err; }
  }), { numRuns: 2000, interruptAfterTimeLimit: 5_000 });
});

test.run();
