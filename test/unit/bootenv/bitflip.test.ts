/**
 * Bit flips in env images made by mkenvimage (test/fixtures/bootenv): CRC32 catches every
 * single-bit error, so a flip in a copy's CRC or data makes that copy invalid; the reader then
 * falls back to the other copy (redundant) or reports the env invalid (single), never reads junk.
 * The flags byte is outside the CRC: a flip there can only change which valid copy is current.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeEnv, encodedDataBytes, parseData, splitCopy } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';

const SIZE = 0x2000;
const fixture = (name: string): Uint8Array => readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/bootenv/${name}`, import.meta.url)));

/** Every bit of the first `denseBytes`, then one bit per 61-byte stride of the rest (bit index varies). */
function flipPositions(sizeBytes: number, denseBytes: number): [number, number][] {
  const out: [number, number][] = [];
  for (let byte = 0; byte < sizeBytes; byte += byte < denseBytes ? 1 : 61) {
    if (byte < denseBytes) for (let bit = 0; bit < 8; bit++) out.push([byte, bit]);
    else out.push([byte, byte % 8]);
  }
  return out;
}

function flipped(image: Uint8Array, byte: number, bit: number): Uint8Array {
  const copy = Uint8Array.from(image);
  copy[byte] = (copy[byte] ?? 0) ^ (1 << bit);
  return copy;
}

function decodeCode(copies: Uint8Array[]): string | undefined {
  try {
    decodeEnv(copies, 'incremental');
  } catch (err) {
    return err instanceof OtaError ? err.code : 'non-OtaError';
  }
  return undefined;
}

test('fixtures decode to their text files', () => {
  const single = decodeEnv([fixture('single-8k.img')], 'incremental');
  assert.is(single.vars.get('BOOT_ORDER'), 'A B');
  assert.is(single.vars.size, 6);
  const both = fixture('redundant-8k.img');
  const state = decodeEnv([both.subarray(0, SIZE), both.subarray(SIZE)], 'incremental');
  assert.is(state.current, 1);
  assert.is(state.vars.get('BOOT_ORDER'), 'B A');
});

test('single env: every flipped bit in CRC and data makes the env invalid', () => {
  const image = fixture('single-8k.img');
  const used = 4 + encodedDataBytes(parseData(image.subarray(4)));
  const missed: string[] = [];
  for (const [byte, bit] of flipPositions(SIZE, used + 64)) {
    if (decodeCode([flipped(image, byte, bit)]) !== 'ENV_NO_VALID_COPY') missed.push(`${byte}.${bit}`);
  }
  assert.equal(missed, []);
});

test('redundant env: a flip in the current copy falls back to the previous state; in the old copy changes nothing', () => {
  const image = fixture('redundant-8k.img');
  const used = 5 + encodedDataBytes(parseData(image.subarray(5, SIZE)));
  const wrong: string[] = [];
  for (const [byte, bit] of flipPositions(SIZE, used + 64)) {
    if (byte === 4) continue; // the flags byte: next test
    for (const [copyAt, expectOrder] of [[SIZE, 'A B'], [0, 'B A']] as const) {
      const bad = flipped(image, copyAt + byte, bit);
      const order = decodeEnv([bad.subarray(0, SIZE), bad.subarray(SIZE)], 'incremental').vars.get('BOOT_ORDER');
      if (order !== expectOrder) wrong.push(`copy@${copyAt} ${byte}.${bit}: ${String(order)}`);
    }
  }
  assert.equal(wrong, []);
});

test('redundant env: a flip in a flags byte only chooses between the two valid states', () => {
  const image = fixture('redundant-8k.img');
  for (const copyAt of [0, SIZE]) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = flipped(image, copyAt + 4, bit);
      const copies = [bad.subarray(0, SIZE), bad.subarray(SIZE)];
      assert.ok(copies.every((c) => splitCopy(c, true).crcValid), 'the flags are outside the CRC');
      assert.ok(['A B', 'B A'].includes(decodeEnv(copies, 'incremental').vars.get('BOOT_ORDER') ?? ''));
    }
  }
});

test.run();
