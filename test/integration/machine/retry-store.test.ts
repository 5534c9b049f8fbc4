/** The retry count's file beside the journal (agent/src/machine/retry-store.ts): written atomically, removed, and a damaged one read as no mark. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileRetryStore } from '../../../agent/src/machine/index.js';
import { tempDir } from '../../support/tools.js';

test('a mark round-trips, is removed, and a damaged or foreign file is no mark', async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'retry.json');
    const store = new FileRetryStore(file);
    assert.is(await store.load(), undefined, 'no file: no mark');
    await store.save({ sequence: 7, epoch: 'e1', retries: 2 });
    assert.equal(await new FileRetryStore(file).load(), { sequence: 7, epoch: 'e1', retries: 2 }, 'read back by a new store (a restarted agent)');
    await store.save(undefined);
    assert.not.ok(existsSync(file), 'cleared');
    for (const bad of ['{"sequence":7', '{"sequence":"7","retries":1}', '{"sequence":7,"retries":-1}', '[]', '{"sequence":7,"retries":1,"epoch":3}']) {
      writeFileSync(file, bad);
      assert.is(await store.load(), undefined, bad);
    }
  } finally {
    t.cleanup();
  }
});

test.run();
