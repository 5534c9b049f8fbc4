import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRange } from '../../../fleet/src/serve/index.js';

const cases: [string, number, { start: number; end: number } | undefined][] = [
  ['bytes=0-99', 1000, { start: 0, end: 99 }],
  ['bytes=100-', 1000, { start: 100, end: 999 }],
  ['bytes=-10', 1000, { start: 990, end: 999 }],
  ['bytes=-5000', 1000, { start: 0, end: 999 }],
  ['bytes=990-5000', 1000, { start: 990, end: 999 }],
  ['bytes=1000-', 1000, undefined],
  ['bytes=5-4', 1000, undefined],
  ['bytes=-0', 1000, undefined],
  ['bytes=-', 1000, undefined],
  ['bytes=0-1,5-6', 1000, undefined],
  ['items=0-1', 1000, undefined],
  ['bytes=0-', 0, undefined],
  ['bytes=4294967296-4294967297', 2 ** 33, { start: 2 ** 32, end: 2 ** 32 + 1 }],
];

for (const [header, size, expected] of cases) {
  test(`parseRange(${header}, ${size})`, () => {
    assert.equal(parseRange(header, size), expected);
  });
}

test.run();
