// Size caps hold while reading, not only against stat: /dev/zero, /dev/urandom and a pipe report a size of
// 0 and never end. One bounded reader serves every capped read (notices, roots, the agent config).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as agentMain } from '../../../agent/src/cli/index.js';
import { main as fleetMain } from '../../../fleet/src/cli/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { readBounded } from '../../../agent/src/files/index.js';
import { runMain, tempDir } from '../../support/tools.js';

const { dir, cleanup } = tempDir('ota-bounded-');
test.after(cleanup);

async function refusedAs(p: Promise<unknown>, code: string): Promise<OtaError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OtaError && err.code === code, `expected ${code}, got ${String(err)}`);
    if (err instanceof OtaError) return err;
  }
  throw new Error(`expected ${code}`);
}

test('readBounded: a file within the cap is read whole; over it (a file, /dev/zero, /dev/urandom) is refused', async () => {
  writeFileSync(join(dir, 'small'), 'hello');
  assert.is((await readBounded(join(dir, 'small'), 5, 'test file')).toString(), 'hello');
  writeFileSync(join(dir, 'six'), 'hello!');
  await refusedAs(readBounded(join(dir, 'six'), 5, 'test file'), 'FILE_TOO_LARGE');
  for (const dev of ['/dev/zero', '/dev/urandom']) {
    const err = await refusedAs(readBounded(dev, 1024 * 1024, 'test file'), 'FILE_TOO_LARGE');
    assert.match(err.message, `${dev}): 1048577 bytes or more, over the 1048576-byte cap`);
  }
});

test('readBounded: a pipe that never ends is refused at the cap; a short one is read whole', async () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const endless = spawn('sh', ['-c', `exec yes > '${fifo}'`], { stdio: 'ignore' });
  try {
    await refusedAs(readBounded(fifo, 256 * 1024, 'pipe'), 'FILE_TOO_LARGE');
  } finally {
    endless.kill();
  }
  const fifo2 = join(dir, 'fifo2');
  execFileSync('mkfifo', [fifo2]);
  const short = spawn('sh', ['-c', `printf 'abc' > '${fifo2}'`], { stdio: 'ignore' });
  const exited = new Promise((r) => short.once('exit', r));
  assert.is((await readBounded(fifo2, 256 * 1024, 'pipe')).toString(), 'abc');
  await exited;
});

test('verify refuses /dev/zero as the notice and /dev/urandom as the root as [oversize], and --config /dev/zero is refused', async () => {
  const keygen = await runMain(fleetMain, ['keygen', '--out', 'keys'], { cwd: dir });
  assert.is(keygen.code, 0, keygen.stderr);
  const notice = await runMain(agentMain, ['verify', '/dev/zero', '--root', 'keys/root.json', '--hardware', 'hw'], { cwd: dir });
  assert.is(notice.code, 1);
  assert.match(notice.stderr, /\/dev\/zero: 262145 bytes is over the 262144-byte cap; refused before parsing \[oversize\]\n$/);
  const root = await runMain(agentMain, ['verify', '/dev/zero', '--root', '/dev/urandom', '--hardware', 'hw'], { cwd: dir });
  assert.is(root.code, 1);
  assert.match(root.stderr, /\/dev\/urandom: 262145 bytes is over .*\[oversize\]\n$/);
  const config = await runMain(agentMain, ['--config', '/dev/zero', 'status'], { cwd: dir });
  assert.is(config.code, 1);
  assert.match(config.stderr, /agent config \(\/dev\/zero\): 1048577 bytes or more, over the 1048576-byte cap.*\[FILE_TOO_LARGE\]\n$/);
});

test.run();
