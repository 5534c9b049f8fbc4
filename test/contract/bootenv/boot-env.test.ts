/**
 * The BootEnv contract, written once and run against every implementation: the U-Boot env on real
 * files (single and redundant), on the in-memory FileIo, and the fake the boot-layer unit tests use
 * (test/support/fake-boot-env.ts), so what those tests assume of the fake holds for the real thing.
 * What the boot layer relies on: an update is seen whole by the next read, null deletes, the result
 * is the state after, and an env with no valid copy fails reads and updates with ENV_NO_VALID_COPY.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBootEnv, parseEnvConfig, type BootEnv } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { FakeBootEnv } from '../../support/fake-boot-env.js';
import { MemoryIo } from '../../support/memory-io.js';
import { tempDir } from '../../support/tools.js';

const SIZE = 0x2000;

/** A fresh implementation holding `initial`, and a way to destroy every copy. */
interface Subject { env: BootEnv; corrupt(): void; cleanup(): void }

const implementations: Record<string, (initial: ReadonlyMap<string, string>) => Promise<Subject>> = {
  'U-Boot env, single, file': async (initial) => fileSubject(initial, false),
  'U-Boot env, redundant, file': async (initial) => fileSubject(initial, true),
  'U-Boot env, redundant, memory': async (initial) => {
    const io = new MemoryIo();
    io.files.set('/env', new Uint8Array(2 * SIZE));
    const env = await openBootEnv({ config: parseEnvConfig(`/env 0 0x2000\n/env 0x2000 0x2000\n`, '/'), io });
    await env.update(Object.fromEntries(initial), { defaultsWhenInvalid: new Map() });
    return { env, corrupt: () => io.files.set('/env', new Uint8Array(2 * SIZE).fill(0xff)), cleanup: () => undefined };
  },
  'fake (memory, for the boot-layer unit tests)': async (initial) => {
    const env = new FakeBootEnv(initial);
    return { env, corrupt: () => { env.invalid = true; }, cleanup: () => undefined };
  },
};

async function fileSubject(initial: ReadonlyMap<string, string>, redundant: boolean): Promise<Subject> {
  const t = tempDir('ota-env-contract-');
  const image = join(t.dir, 'env.img');
  const blank = (): void => writeFileSync(image, new Uint8Array((redundant ? 2 : 1) * SIZE));
  blank();
  const lines = redundant ? `${image} 0 0x2000\n${image} 0x2000 0x2000\n` : `${image} 0 0x2000\n`;
  const env = await openBootEnv({ config: parseEnvConfig(lines, t.dir) });
  await env.update(Object.fromEntries(initial), { defaultsWhenInvalid: new Map() });
  return { env, corrupt: blank, cleanup: t.cleanup };
}

const sorted = (vars: ReadonlyMap<string, string>): [string, string][] => [...vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof OtaError ? err.code : `non-OtaError ${String(err)}`;
  }
  return undefined;
}

for (const [name, make] of Object.entries(implementations)) {
  test(`${name}: reads what was stored; an update returns and persists the state after`, async () => {
    const s = await make(new Map([['BOOT_ORDER', 'A B'], ['BOOT_A_LEFT', '3']]));
    try {
      assert.equal(sorted(await s.env.read()), [['BOOT_A_LEFT', '3'], ['BOOT_ORDER', 'A B']]);
      const after = await s.env.update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '3', BOOT_A_LEFT: null });
      const expected: [string, string][] = [['BOOT_B_LEFT', '3'], ['BOOT_ORDER', 'B A']];
      assert.equal(sorted(after), expected);
      assert.equal(sorted(await s.env.read()), expected);
      assert.ok(s.env.description.length > 0);
    } finally { s.cleanup(); }
  });

  test(`${name}: read returns only what is stored`, async () => {
    const s = await make(new Map([['BOOT_ORDER', 'A B'], ['BOOT_A_LEFT', '3']]));
    try {
      const vars = await s.env.read();
      assert.is(vars.get('BOOT_B_LEFT'), undefined);
      assert.is(vars.size, 2);
    } finally { s.cleanup(); }
  });

  test(`${name}: an empty change set keeps everything; deleting a missing variable is no error`, async () => {
    const s = await make(new Map([['a', '1']]));
    try {
      assert.equal(sorted(await s.env.update({})), [['a', '1']]);
      assert.equal(sorted(await s.env.update({ missing: null })), [['a', '1']]);
      assert.equal(sorted(await s.env.read()), [['a', '1']]);
    } finally { s.cleanup(); }
  });

  test(`${name}: no valid copy -> read and update fail with ENV_NO_VALID_COPY`, async () => {
    const s = await make(new Map([['a', '1']]));
    try {
      s.corrupt();
      assert.is(await code(s.env.read()), 'ENV_NO_VALID_COPY');
      assert.is(await code(s.env.update({ a: '2' })), 'ENV_NO_VALID_COPY');
    } finally { s.cleanup(); }
  });
}

test.run();
