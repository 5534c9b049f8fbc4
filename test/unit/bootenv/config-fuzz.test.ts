/**
 * Property tests (fast-check) for the fw_env.config parser: any text is either a config that keeps
 * every bound (one or two copies, equal sizes in 1..16 MiB, exact offsets within 2^53 - 16 MiB,
 * 32-bit sectors, copies on one device that never share a byte) or ENV_CONFIG; nothing else is
 * thrown. Lines built from the tools' number forms (decimal, 0x hex, octal, signs, huge values)
 * reach the bounds far more often than random text. Fixed seeds in `npm test`; OTA_FUZZ_RUNS=N runs N cases.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { parseEnvConfig, type EnvConfig } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

const RUNS = Number(process.env['OTA_FUZZ_RUNS'] ?? 300);
const params = (seed: number): fc.Parameters<unknown> => ({ seed, numRuns: RUNS });
const MAX_ENV = 16 * 1024 * 1024;

/** The config, or undefined when refused with ENV_CONFIG; any other throw fails the property. */
function parsed(text: string): EnvConfig | undefined {
  try {
    return parseEnvConfig(text, '/cwd');
  } catch (err) {
    if (err instanceof OtaError && err.code === 'ENV_CONFIG' && !err.message.includes('\n')) return undefined;
    throw err;
  }
}

/** Every bound a parsed config keeps, checked independently of the parser. */
function checkBounds(config: EnvConfig): void {
  const [a, b] = config.copies;
  for (const c of config.copies) {
    assert.ok(c.envSizeBytes > 0 && c.envSizeBytes <= MAX_ENV, `size ${c.envSizeBytes}`);
    assert.ok(Number.isSafeInteger(c.offsetBytes) && Math.abs(c.offsetBytes) <= Number.MAX_SAFE_INTEGER - MAX_ENV, `offset ${c.offsetBytes}`);
    assert.ok(Number.isSafeInteger(c.offsetBytes + c.envSizeBytes));
    assert.ok(c.sectorSizeBytes >= 0 && c.sectorSizeBytes <= 0xffffffff && c.sectorCount >= 0 && c.sectorCount <= 0xffffffff);
    assert.ok(c.device.startsWith('/'), c.device);
  }
  if (b === undefined) return;
  assert.is(a.envSizeBytes, b.envSizeBytes);
  if (a.device === b.device && (a.offsetBytes < 0) === (b.offsetBytes < 0)) {
    const apart = a.offsetBytes + a.envSizeBytes <= b.offsetBytes || b.offsetBytes + b.envSizeBytes <= a.offsetBytes;
    assert.ok(apart, `copies at ${a.offsetBytes} and ${b.offsetBytes} (size ${a.envSizeBytes}) on ${a.device} share a byte`);
  }
}

const noisy = fc.string({ unit: fc.constantFrom(...' \t\r\n#0123456789abcdefxX+-/mtd.envimg'.split('')), maxLength: 120 });

test('any text: a config that keeps every bound, or one line of ENV_CONFIG', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), noisy), (text) => {
    const config = parsed(text);
    if (config !== undefined) checkBounds(config);
  }), params(0xc0f1));
});

const magnitude = fc.oneof(
  fc.integer({ min: 0, max: 0x10000 }),
  fc.constantFrom(0x1000, 0x2000, 0x4000, 0x40000, MAX_ENV, MAX_ENV + 1, 2 ** 31, 2 ** 32, 0x7fffffffffff, 2 ** 53 - MAX_ENV, 2 ** 53, 2 ** 64),
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map(Number),
);
/** A number as the tools write it: decimal, 0x/0X hex, leading-0 octal, hex without 0x, with a sign. */
const cInteger = fc.tuple(magnitude, fc.constantFrom('dec', 'hex', 'HEX', 'oct'), fc.constantFrom('', '-', '+')).map(([n, form, sign]) => {
  const big = BigInt(Math.trunc(n));
  const body = form === 'dec' ? big.toString(10) : form === 'hex' ? `0x${big.toString(16)}` : form === 'HEX' ? `0X${big.toString(16).toUpperCase()}` : `0${big.toString(8)}`;
  return `${sign}${body}`;
});
const hexSize = fc.tuple(magnitude, fc.boolean()).map(([n, prefix]) => `${prefix ? '0x' : ''}${BigInt(Math.trunc(n)).toString(16)}`);
const line = fc.tuple(fc.constantFrom('/dev/mtd0', '/dev/mmcblk0', 'env.img', './env.img', '/boot/uboot.env'), cInteger, hexSize, fc.option(hexSize), fc.option(hexSize))
  .map(([dev, off, size, sector, count]) => [dev, off, size, ...(sector === null ? [] : [sector]), ...(sector === null || count === null ? [] : [count])].join(' '));

test('one or two lines of the tools\' number forms: the same bounds; the same line twice is refused as overlapping', () => {
  fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 2 }), fc.constantFrom('\n', '\r\n', '\n# comment\n'), (lines, sep) => {
    const config = parsed(lines.join(sep));
    if (config !== undefined) checkBounds(config);
    const [first] = lines;
    if (first !== undefined) assert.is(parsed(`${first}\n${first}\n`), undefined, 'a copy never overlaps itself');
  }), params(0xc0f2));
});

test.run();
