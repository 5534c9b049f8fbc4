/**
 * Power cut during an env write: the new copy holds only its first k bytes, the rest is what was
 * there before, zeros or 0xFF (erased flash). The reader must return the state before the write,
 * and the next write must go to the torn copy again, leaving the good copy alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyChanges, encodedDataBytes, openBootEnv, parseEnvConfig, planWrite, type UBootEnv,
} from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { MemoryIo } from '../../support/memory-io.js';

const SIZE = 0x2000;
const CUTS = [0, 1, 4, 5, 512, 4096, SIZE - 1];
const RESTS = ['old', 'zero', '0xff'] as const;
type Rest = typeof RESTS[number];

/** Variables of generation `g` that fill the data area to its last byte, so a cut anywhere damages them. */
function generation(g: number, dataBytes: number): Map<string, string> {
  const base = new Map([['fill', ''], ['gen', String(g)]]);
  const room = dataBytes - encodedDataBytes(base);
  return new Map([['fill', String.fromCharCode(0x41 + (g % 26)).repeat(room)], ['gen', String(g)]]);
}

async function redundantEnv(io: MemoryIo): Promise<UBootEnv> {
  io.files.set('/env.img', new Uint8Array(2 * SIZE));
  return openBootEnv({ config: parseEnvConfig(`/env.img 0 0x${SIZE.toString(16)}\n/env.img 0x${SIZE.toString(16)} 0x${SIZE.toString(16)}\n`, '/'), io });
}

function torn(newCopy: Uint8Array, before: Uint8Array, k: number, rest: Rest): Uint8Array {
  const out = rest === 'old' ? Uint8Array.from(before) : new Uint8Array(newCopy.length).fill(rest === 'zero' ? 0 : 0xff);
  out.set(newCopy.subarray(0, k));
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof OtaError ? err.code : `non-OtaError ${String(err)}`;
  }
  return undefined;
}

test('redundant env: a torn new copy reads as the previous state, and the next write goes to the torn copy', async () => {
  const complete: string[] = [];
  for (const k of CUTS) {
    for (const rest of RESTS) {
      const io = new MemoryIo();
      const env = await redundantEnv(io);
      await env.update(Object.fromEntries(generation(1, SIZE - 5)), { defaultsWhenInvalid: new Map() }); // copy 1 (index 0)
      await env.update(Object.fromEntries(generation(2, SIZE - 5))); // copy 2 (index 1), now current
      const state = await env.readState();
      assert.is(state.current, 1);
      const plan = planWrite(state, applyChanges(state.vars, Object.fromEntries(generation(3, SIZE - 5))), SIZE, true, 'incremental');
      assert.is(plan.copy, 0, 'the write goes to the non-current copy');
      const image = io.bytes('/env.img');
      const cut = torn(plan.bytes, image.subarray(0, SIZE), k, rest);
      image.set(cut, 0);
      io.files.set('/env.img', image);
      const label = `k=${k} rest=${rest}`;
      const wholeNewCopy = cut.every((b, i) => b === plan.bytes[i]);
      if (wholeNewCopy) complete.push(label);
      assert.is((await env.read()).get('gen'), wholeNewCopy ? '3' : '2', label);

      const goodCopy = io.bytes('/env.img').subarray(SIZE);
      await env.update({ gen: '4' });
      const after = io.bytes('/env.img');
      if (!wholeNewCopy) {
        assert.equal([...after.subarray(SIZE)], [...goodCopy], `${label}: the good copy is untouched`);
        assert.is((await env.readState()).current, 0, `${label}: the torn copy was rewritten and is current`);
      }
      assert.is((await env.read()).get('gen'), '4', label);
    }
  }
  // The last byte of every copy is a NUL (final terminator or padding): cut before it, with the old
  // content or zeros behind, the copy is byte-for-byte the complete new one. That is a finished write.
  assert.equal(complete, [`k=${SIZE - 1} rest=old`, `k=${SIZE - 1} rest=zero`]);
});

test('redundant env: both copies torn -> reads fail with ENV_NO_VALID_COPY and updates write nothing', async () => {
  const io = new MemoryIo();
  const env = await redundantEnv(io);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  await env.update({ a: '2' });
  const image = io.bytes('/env.img');
  for (const at of [0, SIZE]) image[at + 600] = (image[at + 600] ?? 0) ^ 0x10;
  io.files.set('/env.img', image);
  const writesBefore = io.log.filter((l) => l.startsWith('write')).length;
  assert.is(await codeOf(env.read()), 'ENV_NO_VALID_COPY');
  assert.is(await codeOf(env.update({ a: '3' })), 'ENV_NO_VALID_COPY');
  assert.is(io.log.filter((l) => l.startsWith('write')).length, writesBefore, 'nothing was written');
  assert.equal([...io.bytes('/env.img')], [...image]);
});

test('single env: a torn copy has no fallback -> ENV_NO_VALID_COPY, nothing written', async () => {
  for (const k of CUTS) {
    const io = new MemoryIo();
    io.files.set('/env.img', new Uint8Array(SIZE));
    const env = await openBootEnv({ config: parseEnvConfig(`/env.img 0 0x${SIZE.toString(16)}\n`, '/'), io });
    await env.update(Object.fromEntries(generation(1, SIZE - 4)), { defaultsWhenInvalid: new Map() });
    const plan = planWrite(await env.readState(), generation(2, SIZE - 4), SIZE, false, 'incremental');
    io.files.set('/env.img', torn(plan.bytes, io.bytes('/env.img'), k, '0xff'));
    const image = io.bytes('/env.img');
    assert.is(await codeOf(env.read()), 'ENV_NO_VALID_COPY', `k=${k}`);
    assert.is(await codeOf(env.update({ gen: '3' })), 'ENV_NO_VALID_COPY', `k=${k}`);
    assert.equal([...io.bytes('/env.img')], [...image], `k=${k}: nothing written`);
  }
});

test.run();
