/**
 * Property tests (fast-check) for the env codec: arbitrary bytes decode to a typed refusal or a
 * valid env; valid envs round-trip through encode and decode, and re-encoding a decoded env gives
 * the same bytes; bit flips in the mkenvimage fixtures never yield junk; a change keeps every other
 * variable's bytes. Fixed seeds in `npm test`; OTA_FUZZ_RUNS=N runs N cases per property (default 300).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  applyChanges, checkStorable, crc32, decodeEnv, encodeCopy, encodedDataBytes, splitCopy, type FlagScheme,
} from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

const RUNS = Number(process.env['OTA_FUZZ_RUNS'] ?? 300);
const params = (seed: number): fc.Parameters<unknown> => ({ seed, numRuns: RUNS });
const fixture = (name: string): Uint8Array => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/bootenv/${name}`, import.meta.url)));
const FIXTURE_SIZE = 0x2000;

/** The code of the OtaError `fn` throws, undefined when it returns; any other throw fails the property. */
function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof OtaError) return err.code;
    throw err;
  }
}

const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: 0, maxLength: max });
/** A data area with a valid CRC in front (and a flags byte when redundant): the parser sees arbitrary entries. */
const withCrc = (data: Uint8Array, redundant: boolean, flags = 1): Uint8Array => {
  const header = redundant ? 5 : 4;
  const copy = new Uint8Array(header + data.length);
  copy.set(data, header);
  new DataView(copy.buffer).setUint32(0, crc32(data), true);
  if (redundant) copy[4] = flags;
  return copy;
};
/** A byte string (one code unit per byte) of any bytes but those `excluded` matches. */
const byteString = (min: number, max: number, excluded?: RegExp): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: min, maxLength: max })
    .map((codes) => String.fromCharCode(...codes).replace(excluded ?? /$^/g, ''))
    .filter((s) => s.length >= min);
/** Variables that can be stored: names without '=' or NUL, values without NUL, any other byte. */
const storableVars = fc.uniqueArray(fc.tuple(byteString(1, 12, /[=\0]/g), byteString(0, 40, /\0/g)), { selector: ([n]) => n, maxLength: 12 })
  .map((entries) => new Map(entries));

function checkVars(vars: ReadonlyMap<string, string>): void {
  for (const [name, value] of vars) checkStorable(name, value); // throws on a name or value no write could store
}

test('decode of arbitrary bytes (one or two copies, any CRC): a typed refusal or a valid env', () => {
  fc.assert(fc.property(bytes(600), bytes(600), fc.boolean(), (a, b, redundant) => {
    const code = refusal(() => checkVars(decodeEnv(redundant ? [a, b] : [a], 'incremental').vars));
    return code === undefined || ['ENV_NO_VALID_COPY', 'ENV_TOO_SMALL', 'ENV_CORRUPT'].includes(code);
  }), params(0x0e1));
});

test('decode of arbitrary data under a valid CRC: a valid env, or ENV_CORRUPT for an unterminated entry; re-encoding is stable', () => {
  fc.assert(fc.property(bytes(600), fc.boolean(), fc.constantFrom<FlagScheme>('incremental', 'boolean'), (data, redundant, scheme) => {
    const copy = withCrc(data, redundant);
    const copies = redundant ? [copy, new Uint8Array(copy.length)] : [copy];
    let vars: ReadonlyMap<string, string>;
    try {
      vars = decodeEnv(copies, scheme).vars;
    } catch (err) {
      return err instanceof OtaError && (err.code === 'ENV_CORRUPT' || (err.code === 'ENV_TOO_SMALL' && data.length === 0));
    }
    checkVars(vars);
    if (encodedDataBytes(vars) > data.length) return false; // what was read always fits where it came from
    const again = encodeCopy(vars, copy.length, redundant, 1);
    const reread = decodeEnv(redundant ? [again, new Uint8Array(copy.length)] : [again], scheme).vars;
    assert.equal([...reread], [...vars]);
    return encodeCopy(reread, copy.length, redundant, 1).every((byte, i) => byte === again[i]);
  }), params(0x0e2));
});

test('storable variables (any byte but NUL, names without =) round-trip through encodeCopy and decodeEnv byte for byte', () => {
  fc.assert(fc.property(storableVars, fc.boolean(), fc.integer({ min: 0, max: 255 }), (vars, redundant, flags) => {
    const size = encodedDataBytes(vars) + (redundant ? 5 : 4) + 7;
    const copy = encodeCopy(vars, size, redundant, flags);
    const state = decodeEnv(redundant ? [copy, new Uint8Array(size)] : [copy], 'incremental');
    assert.equal([...state.vars], [...vars]);
    assert.is(state.flags, redundant ? flags : 0);
  }), params(0x0e3));
});

test('a change keeps the bytes of every variable it does not name, or is refused before anything is encoded', () => {
  const change = fc.dictionary(byteString(0, 10), fc.option(byteString(0, 20), { nil: null }), { maxKeys: 4 });
  fc.assert(fc.property(storableVars, change, (vars, changes) => {
    let next: Map<string, string>;
    try {
      next = applyChanges(vars, changes);
    } catch (err) {
      return err instanceof OtaError && ['ENV_BAD_NAME', 'ENV_BAD_VALUE'].includes(err.code);
    }
    const size = encodedDataBytes(next) + 4;
    const after = decodeEnv([encodeCopy(next, size, false)], 'incremental').vars;
    for (const [name, value] of vars) if (!(name in changes)) assert.is(after.get(name), value, `untouched ${JSON.stringify(name)}`);
    for (const [name, value] of Object.entries(changes)) assert.is(after.get(name), value ?? undefined);
    return true;
  }), params(0x0e4));
});

const flips = (sizeBytes: number): fc.Arbitrary<[number, number][]> =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: sizeBytes - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 3 });

function flipped(image: Uint8Array, positions: readonly [number, number][]): Uint8Array {
  const copy = Uint8Array.from(image);
  for (const [byte, bit] of positions) copy[byte] = (copy[byte] ?? 0) ^ (1 << bit);
  return copy;
}

test('single fixture, 1 to 3 bit flips: the original env when the flips cancel, else ENV_NO_VALID_COPY (CRC32 catches up to 3 flipped bits in 8 KiB)', () => {
  const image = fixture('single-8k.img');
  const original = decodeEnv([image], 'incremental').vars;
  fc.assert(fc.property(flips(image.length), (positions) => {
    const bad = flipped(image, positions);
    const unchanged = bad.every((b, i) => b === image[i]);
    const code = refusal(() => assert.equal([...decodeEnv([bad], 'incremental').vars], [...original]));
    return unchanged ? code === undefined : code === 'ENV_NO_VALID_COPY';
  }), params(0x0e5));
});

test('redundant fixture, 1 to 3 bit flips anywhere: one of the two stored envs, or ENV_NO_VALID_COPY when both copies were hit', () => {
  const image = fixture('redundant-8k.img');
  const copiesOf = (b: Uint8Array): Uint8Array[] => [b.subarray(0, FIXTURE_SIZE), b.subarray(FIXTURE_SIZE)];
  const stored = copiesOf(image).map((c) => splitCopy(c, true)).filter((c) => c.crcValid).map((c) => JSON.stringify([...decodeEnv([withCrc(c.data, false)], 'incremental').vars]));
  fc.assert(fc.property(flips(image.length), (positions) => {
    let vars: ReadonlyMap<string, string>;
    try {
      vars = decodeEnv(copiesOf(flipped(image, positions)), 'incremental').vars;
    } catch (err) {
      const hitBoth = positions.some(([byte]) => byte < FIXTURE_SIZE && byte !== 4) && positions.some(([byte]) => byte >= FIXTURE_SIZE && byte !== FIXTURE_SIZE + 4);
      return err instanceof OtaError && err.code === 'ENV_NO_VALID_COPY' && hitBoth;
    }
    return stored.includes(JSON.stringify([...vars]));
  }), params(0x0e6));
});

test.run();
