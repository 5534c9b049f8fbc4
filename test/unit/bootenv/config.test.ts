import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseEnvConfig } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

function configError(text: string): string {
  try {
    parseEnvConfig(text, '/cwd');
  } catch (err) {
    assert.instance(err, OtaError);
    assert.is((err as OtaError).code, 'ENV_CONFIG');
    return (err as OtaError).message;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

test('one line: a single env; sizes are hex with or without 0x, as the tools read them', () => {
  const c = parseEnvConfig('/dev/mmcblk0 0x3f8000 0x4000\n', '/cwd');
  assert.equal(c.copies, [{ device: '/dev/mmcblk0', offsetBytes: 0x3f8000, envSizeBytes: 0x4000, sectorSizeBytes: 0, sectorCount: 0 }]);
  assert.is(parseEnvConfig('/dev/x 0 4000', '/cwd').copies[0].envSizeBytes, 0x4000, '`4000` is 0x4000 (%lx)');
  assert.is(parseEnvConfig('/dev/x 0 0X2000', '/cwd').copies[0].envSizeBytes, 0x2000);
});

test('two lines: a redundant env; sector size and count are read', () => {
  const c = parseEnvConfig([
    '# MTD device name  Device offset  Env. size  Flash sector size  Number of sectors',
    '/dev/mtd1          0x0000         0x10000    0x10000            1',
    '',
    '/dev/mtd2          0x0000         0x10000    0x10000            1',
  ].join('\n'), '/cwd');
  assert.is(c.copies.length, 2);
  assert.equal(c.copies[1], { device: '/dev/mtd2', offsetBytes: 0, envSizeBytes: 0x10000, sectorSizeBytes: 0x10000, sectorCount: 1 });
});

test('offsets are C integers: decimal, 0x hex, leading-0 octal, negative from the end', () => {
  const offset = (o: string): number => parseEnvConfig(`/dev/x ${o} 0x2000`, '/cwd').copies[0].offsetBytes;
  assert.is(offset('4194304'), 4194304);
  assert.is(offset('0x400000'), 0x400000);
  assert.is(offset('010'), 8);
  assert.is(offset('0'), 0);
  assert.is(offset('-0x4000'), -0x4000);
  assert.is(offset('-16384'), -16384);
  assert.is(offset('+0x10'), 16);
});

test('comments, blank lines, CRLF and trailing comments are ignored; relative devices resolve against cwd', () => {
  const c = parseEnvConfig('  # indented comment\r\n\r\n\tuboot.env  0x0000  0x4000  # FAT boot partition\r\n', '/boot');
  assert.equal(c.copies, [{ device: '/boot/uboot.env', offsetBytes: 0, envSizeBytes: 0x4000, sectorSizeBytes: 0, sectorCount: 0 }]);
});

test('malformed configs are errors that name the line', () => {
  assert.match(configError(''), 'no env device line');
  assert.match(configError('# only a comment\n'), 'no env device line');
  assert.match(configError('/dev/x 0\n'), 'line 1: expected DEVICE OFFSET SIZE');
  assert.match(configError('\n/dev/x zero 0x2000\n'), 'line 2: offset');
  assert.match(configError('/dev/x 0 0x2000g\n'), 'env size');
  assert.match(configError('/dev/x 0 0\n'), 'env size is zero');
  assert.match(configError('/dev/x 08 0x2000\n'), 'offset');
  assert.match(configError('/dev/x 0 0x2000 0x1000 1 0 extra\n'), 'too many fields');
  assert.match(configError('/dev/a 0 0x2000\n/dev/b 0 0x4000\n'), 'different sizes');
  assert.match(configError('/dev/a 0 0x2000\n/dev/b 0 0x2000\n/dev/c 0 0x2000\n'), 'more than two');
});

test('two copies that share a byte on one device are refused, whatever the offsets\' form; apart, even adjacent, they are fine', () => {
  for (const [a, b] of [['0', '0'], ['0', '0x1000'], ['0x1000', '0'], ['0x3fff', '0x2000'], ['-0x4000', '-0x4000'], ['-0x4000', '-0x3000'], ['0', '00'], ['16384', '0x4000']]) {
    assert.match(configError(`/dev/mmcblk0 ${a} 0x2000\n/dev/mmcblk0 ${b} 0x2000\n`), 'overlap on /dev/mmcblk0', `${a} / ${b}`);
  }
  assert.match(configError('env.img 0 0x2000\n./env.img 0x1000 0x2000\n'), 'overlap on /cwd/env.img', 'one file under two spellings');
  assert.match(configError('/dev/mtd0 0x0 0x10000 0x10000\n/dev/mtd0 0x8000 0x10000 0x10000\n'), 'overlap', 'MTD');
  for (const [a, b] of [['0', '0x2000'], ['0x2000', '0'], ['-0x2000', '-0x4000'], ['0', '-0x2000']]) {
    assert.is(parseEnvConfig(`/dev/mmcblk0 ${a} 0x2000\n/dev/mmcblk0 ${b} 0x2000\n`, '/cwd').copies.length, 2, `${a} / ${b}`);
  }
  assert.is(parseEnvConfig('/dev/a 0 0x2000\n/dev/b 0 0x2000\n', '/cwd').copies.length, 2, 'same offset on two devices');
});

test('sizes and offsets are bounded (16 MiB env, 2^53 - 16 MiB offset, 32-bit sectors): a typed refusal, never a crash', () => {
  assert.is(parseEnvConfig('/dev/x 0 0x1000000', '/cwd').copies[0].envSizeBytes, 16 * 1024 * 1024, '16 MiB is accepted');
  for (const size of ['0x1000001', '0x80000000', '0x7fffffffffff', '0xffffffffffffffff', 'ffffffffffffffffffffffff']) {
    assert.match(configError(`/dev/x 0 ${size}\n`), /env size|out of range/, size);
  }
  for (const offset of ['0x20000000000000', '-0x1fffffffffffff', '0x7fffffffffffffff', '99999999999999999999']) {
    assert.match(configError(`/dev/x ${offset} 0x2000\n`), 'out of range', offset);
  }
  assert.match(configError('/dev/mtd0 0 0x2000 0x100000000\n'), 'sector size');
  assert.match(configError('/dev/mtd0 0 0x2000 0x10000 0x100000000\n'), 'sector count');
});

test.run();
