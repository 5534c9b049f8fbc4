import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bytesOfText, chooseCopy, crc32, encodeCopy, encodedDataBytes, nextFlags, parseData, serializeData, splitCopy, type FlagScheme,
} from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof OtaError ? err.code : `non-OtaError ${String(err)}`;
  }
  return undefined;
}

test('crc32 matches zlib on the standard check values', () => {
  assert.is(crc32(ascii('123456789')), 0xcbf43926);
  assert.is(crc32(new Uint8Array()), 0);
  assert.is(crc32(ascii('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  // zlib.crc32 (Python) of an 8188-byte zero area and of an 8188-byte 0xFF area: a blank 8 KiB env
  assert.is(crc32(new Uint8Array(8188)), 0xaac184f9);
  assert.is(crc32(new Uint8Array(8188).fill(0xff)), 0xe1174f33);
});

test('crc32 continues over split input', () => {
  const all = ascii('hello, u-boot environment');
  assert.is(crc32(all.subarray(7), crc32(all.subarray(0, 7))), crc32(all));
});

test('a single copy is CRC (LE, over the whole data area) then name=value NULs, a final NUL, zero padding', () => {
  const bytes = encodeCopy(new Map([['a', '1'], ['bc', 'x=y']]), 32, false);
  const expected = new Uint8Array(32);
  expected.set([0xf7, 0x27, 0xcd, 0x73]); // zlib.crc32 of the 28-byte data area = 0x73cd27f7
  expected.set(ascii('a=1\0bc=x=y\0\0'), 4);
  assert.equal([...bytes], [...expected]);
});

test('a redundant copy has the flags byte at offset 4, outside the CRC', () => {
  const bytes = encodeCopy(new Map([['a', '1'], ['bc', 'x=y']]), 32, true, 0x7e);
  assert.equal([...bytes.subarray(0, 5)], [0xa1, 0x04, 0x5b, 0x1e, 0x7e]); // zlib.crc32 = 0x1e5b04a1
  assert.equal([...bytes.subarray(5, 17)], [...ascii('a=1\0bc=x=y\0\0')]);
  const other = encodeCopy(new Map([['a', '1'], ['bc', 'x=y']]), 32, true, 0x7f);
  assert.equal([...other.subarray(0, 4)], [...bytes.subarray(0, 4)], 'the flags do not change the CRC');
});

test('splitCopy checks the CRC over padding too', () => {
  const bytes = encodeCopy(new Map([['k', 'v']]), 64, false);
  assert.ok(splitCopy(bytes, false).crcValid);
  bytes[63] = 0xff;
  const split = splitCopy(bytes, false);
  assert.not.ok(split.crcValid);
  assert.is.not(split.storedCrc, split.computedCrc);
});

test('parseData reads as fw_printenv: stops at the empty entry, skips entries without = or name, last duplicate wins', () => {
  const vars = parseData(ascii('b=2\0junk\0=nameless\0a=1\0b=3\0e=\0\0after=ignored\0'));
  assert.equal([...vars], [['b', '3'], ['a', '1'], ['e', '']]);
});

test('parseData of an unterminated area is ENV_CORRUPT', () => {
  assert.is(codeOf(() => parseData(ascii('a=1\0b=2'))), 'ENV_CORRUPT');
  assert.equal([...parseData(new Uint8Array(16))], [], 'an all-zero area is an empty env');
});

test('values are bytes: UTF-8, bytes that are not UTF-8, spaces, = and control characters other than NUL round-trip', () => {
  const vars = new Map([['bootargs', 'console=ttyS0,115200 root=/dev/mmcblk0p2 ota.slot=A'], ['name', bytesOfText('é€😀')], ['lat', 'caf\xe9'], ['bin', '\x80\xff\xc3('], ['tab', 'a\tb\nc']]);
  const data = serializeData(vars, 256);
  assert.equal([...parseData(data)], [...vars]);
  assert.equal([...data.subarray(0, 30)], [...Buffer.from('bootargs=console=ttyS0,115200 ')]);
  assert.ok(Buffer.from(data).includes(Buffer.from([0x6c, 0x61, 0x74, 0x3d, 0x63, 0x61, 0x66, 0xe9, 0])), 'lat=caf\\xe9 stored as those 8 bytes');
});

test('serializeData: exact fit succeeds, one byte less is ENV_TOO_SMALL', () => {
  const vars = new Map([['abc', 'defg']]);
  assert.is(encodedDataBytes(vars), 10); // "abc=defg\0" + final NUL
  assert.equal([...serializeData(vars, 10)], [...ascii('abc=defg\0\0')]);
  assert.is(codeOf(() => serializeData(vars, 9)), 'ENV_TOO_SMALL');
  assert.is(codeOf(() => encodeCopy(vars, 4, false)), 'ENV_TOO_SMALL');
  assert.is(codeOf(() => encodeCopy(vars, 14, true)), 'ENV_TOO_SMALL');
  assert.ok(encodeCopy(vars, 15, true).length === 15);
});

test('stored names must be non-empty bytes without = or NUL; values bytes without NUL', () => {
  assert.is(codeOf(() => serializeData(new Map([['', 'x']]), 64)), 'ENV_BAD_NAME');
  assert.is(codeOf(() => serializeData(new Map([['a=b', 'x']]), 64)), 'ENV_BAD_NAME');
  assert.is(codeOf(() => serializeData(new Map([['a\0', 'x']]), 64)), 'ENV_BAD_NAME');
  assert.is(codeOf(() => serializeData(new Map([['\u20ac', 'x']]), 64)), 'ENV_BAD_NAME', 'a code unit above 0xFF is not a byte');
  assert.is(codeOf(() => serializeData(new Map([['a', 'x\0y']]), 64)), 'ENV_BAD_VALUE');
  assert.is(codeOf(() => serializeData(new Map([['a', '\u20ac']]), 64)), 'ENV_BAD_VALUE');
});

function copyWith(flags: number, valid: boolean): ReturnType<typeof splitCopy> {
  const bytes = encodeCopy(new Map([['f', String(flags)]]), 64, true, flags);
  if (!valid) bytes[10] = (bytes[10] ?? 0) ^ 0x01;
  return splitCopy(bytes, true);
}

test('chooseCopy, incremental (env_check_redund): one valid wins; both: wrap pairs, larger, equal -> first', () => {
  const rows: [number, number, 0 | 1][] = [
    [0xff, 0, 1], [0, 0xff, 0], [1, 2, 1], [2, 1, 0], [0xfe, 0xff, 1], [0xff, 0xfe, 0],
    [5, 5, 0], [0, 0, 0], [0xff, 0xff, 0], [0x80, 0x7f, 0], [0, 1, 1], [1, 0xff, 1], [0xff, 1, 0],
  ];
  for (const [f1, f2, want] of rows) assert.is(chooseCopy(copyWith(f1, true), copyWith(f2, true), 'incremental'), want, `flags (${f1}, ${f2})`);
});

test('chooseCopy, boolean (env/flash.c): active beats obsolete, equal -> first, 0xFF (unwritten) wins', () => {
  const rows: [number, number, 0 | 1][] = [
    [1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0], [0xff, 0xff, 0], [0xff, 0, 0], [0, 0xff, 1], [0xff, 1, 0], [1, 0xff, 1], [2, 3, 0],
  ];
  for (const [f1, f2, want] of rows) assert.is(chooseCopy(copyWith(f1, true), copyWith(f2, true), 'boolean'), want, `flags (${f1}, ${f2})`);
});

test('chooseCopy: a copy with a bad CRC never wins, whatever its flags; both bad -> undefined', () => {
  for (const scheme of ['incremental', 'boolean'] as const satisfies readonly FlagScheme[]) {
    for (const [f1, f2] of [[0, 0xff], [0xff, 0], [1, 0], [0, 1], [3, 3]] as const) {
      assert.is(chooseCopy(copyWith(f1, false), copyWith(f2, true), scheme), 1);
      assert.is(chooseCopy(copyWith(f1, true), copyWith(f2, false), scheme), 0);
      assert.is(chooseCopy(copyWith(f1, false), copyWith(f2, false), scheme), undefined);
    }
  }
});

test('incremental flags wrap 0xFF -> 0 and the newest copy keeps winning across the wrap', () => {
  assert.is(nextFlags(0xfe, 'incremental'), 0xff);
  assert.is(nextFlags(0xff, 'incremental'), 0);
  assert.is(nextFlags(7, 'boolean'), 1);
  let older = copyWith(0xfc, true);
  let newer = copyWith(0xfd, true);
  for (let i = 0; i < 6; i++) { // 0xfd, 0xfe, 0xff, 0, 1, 2: the written copy alternates
    const newerIsSecond = i % 2 === 0;
    const pair = newerIsSecond ? [older, newer] as const : [newer, older] as const;
    assert.is(chooseCopy(pair[0], pair[1], 'incremental'), newerIsSecond ? 1 : 0, `newer flags ${newer.flags}`);
    older = newer;
    newer = copyWith(nextFlags(newer.flags, 'incremental'), true);
  }
});

test.run();
