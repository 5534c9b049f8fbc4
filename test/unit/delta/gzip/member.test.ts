import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  buildGzipHeader, crc32, detectGzip, gzipDeflate, gzipMember, parseGzipHeader, splitGzipMember,
} from '../../../../agent/src/delta/gzip/index.js';
import { randomBytes } from '../../../support/delta.js';
import { gnuGzipMember, textLike } from '../../../support/gnu-gzip.js';
import { missingTools, tempDir } from '../../../support/tools.js';
import { gate, missingReason } from '../../../support/skip.js';

const missing = missingTools('gzip member tests against GNU gzip', 'gzip');
const differential = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-gzip-member-');
test.after(cleanup);

const text = textLike(20000, 42);

test('crc32 matches the standard check value and continues across chunks', () => {
  const check = Buffer.from('123456789');
  assert.is(crc32(check), 0xcbf43926);
  assert.is(crc32(check.subarray(4), crc32(check.subarray(0, 4))), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
});

test('default header is what gzip -n writes: no flags, mtime 0, xfl 4/0/2 for -1/-6/-9, os 3', () => {
  assert.equal([...buildGzipHeader({}, 9)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  assert.equal([...buildGzipHeader({}, 6)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  assert.equal([...buildGzipHeader({}, 1)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]);
});

test('header with every optional field parses back to the same fields, and zlib accepts the member', () => {
  const fields = {
    mtimeSec: 1700000000, extraFlags: 2, os: 3, text: true, headerCrc: true,
    extra: Uint8Array.of(65, 66, 2, 0, 7, 8), name: new TextEncoder().encode('openssl.1'), comment: new TextEncoder().encode('a comment'),
  };
  const header = buildGzipHeader(fields, 9);
  const parsed = parseGzipHeader(header);
  assert.ok(parsed);
  assert.is(parsed.sizeBytes, header.length);
  assert.equal(parsed.fields, fields);
  const member = gzipMember(text, { level: 9, header });
  assert.ok(gunzipSync(member).equals(text));
  const found = detectGzip(member);
  assert.ok(found);
  assert.is(found.level, 9);
  assert.equal([...found.headerBytes], [...header]);
  assert.ok(Buffer.from(gzipMember(found.raw, { level: found.level, header: found.headerBytes })).equals(member));
});

test('parseGzipHeader refuses what is not a complete deflate gzip header', () => {
  const good = buildGzipHeader({ name: Buffer.from('x') }, 9);
  assert.is(parseGzipHeader(good.subarray(0, good.length - 1)), undefined, 'name not terminated');
  assert.is(parseGzipHeader(Uint8Array.of(0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3)), undefined, 'method 7');
  assert.is(parseGzipHeader(Uint8Array.of(0x1f, 0x8b, 8, 0x20, 0, 0, 0, 0, 0, 3)), undefined, 'reserved flag');
  assert.is(parseGzipHeader(Uint8Array.of(0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 9, 0, 1)), undefined, 'extra cut short');
  assert.is(parseGzipHeader(Buffer.from('hello world')), undefined, 'not gzip');
});

test('gzipMember refuses header bytes that are not exactly one header', () => {
  const header = buildGzipHeader({}, 9);
  assert.throws(() => gzipMember(text, { level: 9, header: Buffer.concat([header, Uint8Array.of(0)]) }), /not exactly one gzip header/);
  assert.throws(() => gzipMember(text, { level: 9, header: header.subarray(0, 8) }), /not exactly one gzip header/);
});

differential('gzipMember equals gzip output with name and mtime (no -n), header passed verbatim', () => {
  for (const level of [1, 6, 9]) {
    const gnu = gnuGzipMember(text, level, dir, []);
    const parsed = parseGzipHeader(gnu);
    assert.ok(parsed);
    assert.equal(Buffer.from(parsed.fields.name ?? []).toString(), 'input');
    const rebuilt = gzipMember(text, { level, header: gnu.subarray(0, parsed.sizeBytes) });
    assert.ok(Buffer.from(rebuilt).equals(gnu), `level ${level}`);
    const found = detectGzip(gnu);
    assert.is(found?.level, level);
  }
});

differential('detectGzip finds each level 1..9 of gzip -n output', () => {
  const input = Buffer.concat([textLike(70000, 5), randomBytes(3000, 6)]);
  for (let level = 1; level <= 9; level++) {
    const gnu = gnuGzipMember(input, level, dir);
    const found = detectGzip(gnu);
    assert.ok(found, `level ${level}`);
    assert.ok(Buffer.from(gzipMember(found.raw, { level: found.level, header: found.headerBytes })).equals(gnu), `level ${level}`);
    assert.is(found.rawSizeBytes, input.length);
  }
});

test('detectGzip gives undefined for multi-member, trailing bytes, bad CRC, bad ISIZE, truncation, not gzip', () => {
  const one = gzipMember(text, { level: 9 });
  assert.ok(detectGzip(one));
  assert.is(detectGzip(Buffer.concat([one, one])), undefined, 'two members');
  assert.is(detectGzip(Buffer.concat([one, Uint8Array.of(0)])), undefined, 'trailing zero');
  const badCrc = Buffer.from(one);
  badCrc.writeUInt8(badCrc.readUInt8(badCrc.length - 8) ^ 1, badCrc.length - 8);
  assert.is(detectGzip(badCrc), undefined, 'bad crc');
  const badSize = Buffer.from(one);
  badSize.writeUInt8(badSize.readUInt8(badSize.length - 1) ^ 1, badSize.length - 1);
  assert.is(detectGzip(badSize), undefined, 'bad isize');
  assert.is(detectGzip(one.subarray(0, one.length - 3)), undefined, 'truncated');
  assert.is(detectGzip(text), undefined, 'not gzip');
  assert.is(detectGzip(new Uint8Array(0)), undefined, 'empty');
});

test('detectGzip gives undefined for a gzip stream no gzip level makes (zlib, level 9)', () => {
  const raw = textLike(200000, 77);
  const zlibMade = gzipSync(raw, { level: 9 });
  // That zlib's body differs from gzip's at every level is checked here, not assumed (zlib builds vary).
  const body = zlibMade.subarray(10, zlibMade.length - 8);
  const gzipCanMakeIt = [1, 2, 3, 4, 5, 6, 7, 8, 9].some((level) => Buffer.from(gzipDeflate(raw, level)).equals(body));
  assert.is(gzipCanMakeIt, false, 'this zlib build happens to write gzip\'s stream: choose another input');
  assert.is(detectGzip(zlibMade), undefined);
});

test('splitGzipMember gives the header verbatim and the content, for the device to inflate an old file', () => {
  const header = buildGzipHeader({ name: new TextEncoder().encode('changelog.Debian'), mtimeSec: 12345 }, 6);
  const member = gzipMember(text, { level: 6, header });
  const parts = splitGzipMember(member);
  assert.ok(parts);
  assert.equal([...parts.headerBytes], [...header]);
  assert.ok(Buffer.from(parts.raw).equals(text));
  assert.is(parts.deflateSizeBytes, member.length - header.length - 8);
  assert.is(splitGzipMember(Buffer.concat([member, member])), undefined, 'two members');
  assert.is(splitGzipMember(member, 100), undefined, 'over maxRawBytes');
});

test('detectGzip respects maxRawBytes', () => {
  const big = gzipMember(new Uint8Array(100000), { level: 9 });
  assert.is(detectGzip(big, { maxRawBytes: 50000 }), undefined);
  assert.is(detectGzip(big, { maxRawBytes: 100000 })?.level, 9);
});

test.run();
