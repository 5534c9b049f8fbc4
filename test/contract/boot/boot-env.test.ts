// The BootEnv contract, written once and run against the fake the boot-layer unit tests use
// (test/support/fake-boot-env.ts) and the real file-backed U-Boot env (agent/src/bootenv):
// what the unit tests assume of the fake holds for the real thing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCopy, openBootEnv, parseEnvConfig } from '../../../agent/src/bootenv/index.js';
import type { BootEnv } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { FakeBootEnv } from '../../support/fake-boot-env.js';
import { tempDir } from '../../support/tools.js';

/** Make a BootEnv holding `vars`, or one with no valid copy when `vars` is null. */
type Maker = (vars: Record<string, string> | null) => Promise<{ env: BootEnv; cleanup: () => void }>;

const makers: Record<string, Maker> = {
  fake: async (vars) => {
    const env = new FakeBootEnv(Object.entries(vars ?? {}));
    env.invalid = vars === null;
    return { env, cleanup: () => undefined };
  },
  'U-Boot env file (redundant, 16 KiB)': async (vars) => {
    const t = tempDir();
    const size = 0x4000;
    const image = vars === null ? new Uint8Array(2 * size) : new Uint8Array([...encodeCopy(new Map(Object.entries(vars)), size, true, 1), ...new Uint8Array(size)]);
    writeFileSync(join(t.dir, 'env.img'), image);
    const config = parseEnvConfig(`env.img 0x0 0x4000\nenv.img 0x4000 0x4000\n`, t.dir);
    return { env: await openBootEnv({ config }), cleanup: t.cleanup };
  },
};

for (const [name, make] of Object.entries(makers)) {
  const s = suite(`BootEnv contract: ${name}`);

  s('read returns the stored variables', async () => {
    const { env, cleanup } = await make({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '3' });
    try {
      const vars = await env.read();
      assert.is(vars.get('BOOT_ORDER'), 'A B');
      assert.is(vars.get('BOOT_A_LEFT'), '3');
      assert.is(vars.get('BOOT_B_LEFT'), undefined);
    } finally { cleanup(); }
  });

  s('update sets and deletes several variables at once and returns the result', async () => {
    const { env, cleanup } = await make({ BOOT_ORDER: 'A B', BOOT_A_LEFT: '3', OTA_TRIAL: 'A' });
    try {
      const after = await env.update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '3', OTA_TRIAL: null });
      const read = await env.read();
      for (const vars of [after, read]) {
        assert.equal(Object.fromEntries([...vars].sort()), { BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', BOOT_ORDER: 'B A' });
      }
      assert.type(env.description, 'string');
      assert.ok(env.description.length > 0);
    } finally { cleanup(); }
  });

  s('an env with no valid copy: read and update fail with ENV_NO_VALID_COPY', async () => {
    const { env, cleanup } = await make(null);
    try {
      for (const op of [() => env.read(), () => env.update({ BOOT_ORDER: 'A B' })]) {
        try {
          await op();
          assert.unreachable('should fail');
        } catch (err) {
          assert.instance(err, OtaError);
          if (err instanceof OtaError) assert.is(err.code, 'ENV_NO_VALID_COPY');
        }
      }
    } finally { cleanup(); }
  });

  s.run();
}
