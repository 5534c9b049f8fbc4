/**
 * Fuzzer for the metadata reader: notices, roots, releases and rollouts, from
 * raw bytes to the verifier's decision. Whatever the input (random bytes, a
 * valid notice with bits flipped, bytes cut or spliced, or any member of its
 * JSON replaced by another value and re-encoded canonically so the field
 * readers see it), the outcome is a checked document or a typed Refusal: never
 * a crash, a hang or an untyped error. A fixed seed in `npm test`;
 * OTA_FUZZ_RUNS=N runs N cases per property (OTA_FUZZ_SEED another seed).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import {
  canonicalBytes, isRefusal, parseStrictJson, readNotice, readRelease, readRollout, readRoot, readSignedFile, METADATA_LIMITS,
  type JsonValue,
} from '../../../agent/src/formats/index.js';
import { loadRoot, verifyNotice, type TrustState } from '../../../agent/src/trust/index.js';
import { BUILD_TIME_MS, NOW_MS, defaultRoles, goodNotice, rootV1, rotated, testKey } from '../../support/trust.js';

const runs = Number.parseInt(process.env['OTA_FUZZ_RUNS'] ?? '', 10);
const params = { numRuns: Number.isSafeInteger(runs) && runs > 0 ? runs : 300, seed: Number.parseInt(process.env['OTA_FUZZ_SEED'] ?? '', 10) || 20261207 };

const v2Roles = { ...defaultRoles(), root: { keys: [testKey(11)], threshold: 1 } };
const seeds = [goodNotice(3), goodNotice(4, 9, [rotated(1, [testKey(1)], v2Roles)])];
const state: TrustState = { trusted: loadRoot(canonicalBytes(rootV1()), 'root'), installedVersion: 1, rolloutVersion: 0, timeFloorMs: 0, failedVersions: [] };

/** Run `run` on `bytes`; fail on anything but a result or a Refusal. */
function typed(what: string, bytes: Uint8Array, run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!isRefusal(err)) assert.unreachable(`${what}: untyped ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} on ${Buffer.from(bytes.subarray(0, 200)).toString('latin1')}`);
  }
}

/** The shape readers only (no signature is verified: fast enough to sweep every member). */
function readShapes(bytes: Uint8Array): void {
  typed('readers', bytes, () => {
    const n = readNotice(bytes);
    for (const [k, r] of n.roots.entries()) readRoot(r, `roots[${k}]`);
    readRelease(n.release, 'release');
    readRollout(n.rollout, 'rollout');
  });
}

/** Run every reader and the verifier on `bytes`. */
function readAll(bytes: Uint8Array): void {
  readShapes(bytes);
  typed('verifyNotice', bytes, () => verifyNotice({ notice: bytes, state, device: { hardwareId: 'hw-a', deviceId: 'dev-1' }, nowMs: NOW_MS, buildTimeMs: BUILD_TIME_MS }));
  for (const read of [readRoot, readRelease, readRollout]) typed(read.name, bytes, () => read(readSignedFile(bytes, 'doc'), 'doc'));
}

const seed = fc.constantFrom(...seeds);

/** Canonical JSON of `v`, or plain JSON for what canonical JSON cannot carry (a float, 2^53): the parser's turn then. */
function encode(v: JsonValue): Uint8Array {
  try {
    return canonicalBytes(v);
  } catch {
    return Buffer.from(JSON.stringify(v));
  }
}

/** Every path (keys and indexes) to a value inside `v`. */
function paths(v: JsonValue, at: (string | number)[] = []): (string | number)[][] {
  const here = [at];
  if (Array.isArray(v)) return here.concat(...v.map((x, k) => paths(x, [...at, k])));
  if (typeof v === 'object' && v !== null) return here.concat(...Object.entries(v).map(([k, x]) => paths(x, [...at, k])));
  return here;
}

/** `v` with the value at `path` replaced by `by`. */
function replaced(v: JsonValue, path: readonly (string | number)[], by: JsonValue): JsonValue {
  const [head, ...rest] = path;
  if (head === undefined) return by;
  if (Array.isArray(v) && typeof head === 'number') return v.map((x, k) => (k === head ? replaced(x, rest, by) : x));
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof head === 'string') return { ...v, [head]: replaced(v[head] ?? null, rest, by) };
  return v;
}

/** Values a field reader must refuse politely: edges of numbers, strings and dates, and deep or odd shapes. */
const tricky: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((x): JsonValue => JSON.parse(JSON.stringify(x) ?? 'null')),
  fc.constantFrom<JsonValue>(
    -1, 0, 2 ** 53, 2 ** 53 - 1, 1e308, 0.5, -0, '', '0', 'A'.repeat(5000), '2026-02-31T00:00:00Z', '9999-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z', '\u0000', '\ud800', [], {}, [[[[[]]]]], null, true, { __proto__: null }, { constructor: 1 },
  ),
);

test('fuzz: random bytes give a typed refusal', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => { readAll(bytes); }), params);
});

test('fuzz: a valid notice with bits flipped, bytes cut, inserted or spliced', () => {
  const edit = fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => (b: Buffer): Buffer => { const c = Buffer.from(b); const k = at % c.length; c[k] = (c[k] ?? 0) ^ (1 << bit); return c; }),
    fc.nat().map((at) => (b: Buffer): Buffer => b.subarray(0, at % b.length)),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, ins]) => (b: Buffer): Buffer => Buffer.concat([b.subarray(0, at % b.length), ins, b.subarray(at % b.length)])),
    fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, n, c]) => (b: Buffer): Buffer => { const k = a % b.length; return Buffer.concat([b.subarray(0, k), b.subarray(c % b.length, (c % b.length) + (n % 64)), b.subarray(k)]); }),
  );
  fc.assert(fc.property(seed, fc.array(edit, { minLength: 1, maxLength: 4 }), (notice, edits) => {
    readAll(edits.reduce<Buffer>((b, e) => e(b), Buffer.from(notice)));
  }), params);
});

test('fuzz: any member of a valid notice replaced by another value, re-encoded canonically', () => {
  fc.assert(fc.property(seed, fc.nat(), tricky, (notice, pick, by) => {
    const doc = parseStrictJson(notice, METADATA_LIMITS, 'seed');
    const all = paths(doc);
    const path = all[pick % all.length] ?? [];
    readAll(encode(replaced(doc, path, by)));
  }), params);
});

/** The `n`-th small change of `v`: a member or item dropped, emptied, a number or string nudged to its edges. */
function perturbed(v: JsonValue, n: number): JsonValue {
  if (Array.isArray(v)) return [[], v.slice(1), [...v, ...v.slice(0, 1)], v.slice(0, -1)][n % 4] ?? null;
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v);
    const drop = keys[n % Math.max(keys.length, 1)];
    return n % 3 === 0 ? {} : Object.fromEntries(Object.entries(v).filter(([k]) => k !== drop));
  }
  if (typeof v === 'number') return [v + 1, v - 1, 0, 2 ** 53, -1][n % 5] ?? null;
  if (typeof v === 'string') return ['', `${v}${v}`, v.slice(1), v.toUpperCase()][n % 4] ?? null;
  return [null, !v][n % 2] ?? null;
}

test('sweep: every member of each seed, each small change of it, re-encoded canonically', () => {
  for (const notice of seeds) {
    const doc = parseStrictJson(notice, METADATA_LIMITS, 'seed');
    for (const path of paths(doc)) {
      const here = path.reduce<JsonValue | undefined>((v, k) => (Array.isArray(v) && typeof k === 'number' ? v[k] : typeof v === 'object' && v !== null && !Array.isArray(v) && typeof k === 'string' ? v[k] : undefined), doc) ?? null;
      for (let n = 0; n < 12; n++) readShapes(encode(replaced(doc, path, perturbed(here, n))));
    }
  }
});

test('control: the seeds are accepted, so the properties above reach every reader', () => {
  for (const notice of seeds) assert.ok(verifyNotice({ notice, state, device: { hardwareId: 'hw-a' }, nowMs: NOW_MS, buildTimeMs: BUILD_TIME_MS }).release.version >= 3);
});

test.run();
