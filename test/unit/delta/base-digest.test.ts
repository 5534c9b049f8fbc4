// A caller that read the base to choose the delta hands its sha256 to the applier: the applier compares
// it with the header's and reads the base no second time; a digest that is not the header's base is
// refused before the target is opened. Without a digest it reads the whole base, as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaApplier, readDeltaFileHeader, type BaseReader } from '../../../agent/src/delta/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { sha256 } from '../../../agent/src/formats/index.js';
import { encodeDelta } from '../../../fleet/src/delta/index.js';
import { randomBytes } from '../../support/delta.js';
import { tempDir } from '../../support/tools.js';

const { dir, cleanup } = tempDir('ota-base-digest-');
test.after(cleanup);

const old = randomBytes(300_000, 7);
const neu = Buffer.concat([old.subarray(0, 200_000), randomBytes(5000, 8), old.subarray(205_000)]);
const deltaPath = join(dir, 'v2.delta');
writeFileSync(deltaPath, encodeDelta(old, neu).delta);

/** The base in memory, counting the bytes read from it. */
function countingBase(bytes: Uint8Array): BaseReader & { readBytes: number } {
  const base = {
    sizeBytes: bytes.length, readBytes: 0,
    read(into: Uint8Array, offsetBytes: number): Promise<number> {
      const piece = bytes.subarray(offsetBytes, offsetBytes + into.length);
      into.set(piece);
      base.readBytes += piece.length;
      return Promise.resolve(piece.length);
    },
    close: () => Promise.resolve(),
  };
  return base;
}

async function open(base: BaseReader, target: string, baseSha256?: Uint8Array): Promise<DeltaApplier> {
  const header = await readDeltaFileHeader(deltaPath);
  return DeltaApplier.open({ header, base, targetPath: join(dir, target), ...(baseSha256 === undefined ? {} : { baseSha256 }) });
}

test('without a digest the applier reads the whole base once to check it', async () => {
  const base = countingBase(old);
  const a = await open(base, 'a.img');
  await a.close();
  assert.is(base.readBytes, old.length);
});

test('with the digest the caller read: no byte of the base is read to open', async () => {
  const base = countingBase(old);
  const a = await open(base, 'b.img', sha256(old));
  await a.close();
  assert.is(base.readBytes, 0);
});

test('a digest that is not the base the delta was made from is refused before the target is opened', async () => {
  const base = countingBase(old);
  try {
    await open(base, 'c.img', sha256(neu));
    assert.unreachable('opened on a wrong base');
  } catch (err) {
    assert.ok(err instanceof OtaError && err.code === 'DELTA_WRONG_BASE', String(err));
  }
  assert.is(existsSync(join(dir, 'c.img')), false, 'the target was not created');
});

test.run();
