import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { promises as fsp, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirDurable, readFileIfExists, writeFileAtomic } from '../../../agent/src/durable/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { tempDir } from '../../support/tools.js';

/** Runs `body` while recording the paths `fsp.open` opens read-only (how fsyncDir opens a directory). */
async function dirsOpened(body: () => Promise<void>): Promise<string[]> {
  const opened: string[] = [];
  const real = fsp.open;
  fsp.open = (async (p: Parameters<typeof real>[0], flags?: Parameters<typeof real>[1], mode?: Parameters<typeof real>[2]) => {
    if (flags === 'r') opened.push(String(p));
    return real(p, flags, mode);
  }) as typeof real;
  try {
    await body();
  } finally {
    fsp.open = real;
  }
  return opened;
}

test('mkdirDurable syncs the parent of every directory it creates, outermost first, and nothing when all exist', async () => {
  const t = tempDir();
  try {
    const leaf = join(t.dir, 'a', 'b', 'c');
    const synced = await dirsOpened(() => mkdirDurable(leaf));
    assert.ok(statSync(leaf).isDirectory());
    assert.equal(synced, [t.dir, join(t.dir, 'a'), join(t.dir, 'a', 'b')]);
    assert.equal(await dirsOpened(() => mkdirDurable(leaf)), [], 'an existing directory costs no fsync');
    assert.equal(await dirsOpened(() => mkdirDurable(join(leaf, 'd'))), [leaf], 'one new level: its parent only');
  } finally { t.cleanup(); }
});

test('writeFileAtomic replaces content and leaves no temp file', async () => {
  const t = tempDir();
  try {
    const f = join(t.dir, 'state.json');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, 'two', 0o600);
    assert.is(readFileSync(f, 'utf8'), 'two');
    assert.equal(readdirSync(t.dir), ['state.json']);
    assert.is(statSync(f).mode & 0o777, 0o600, 'the mode of the last write applies');
  } finally { t.cleanup(); }
});

test('writeFileAtomic into a missing directory fails with the errno code and the path', async () => {
  const t = tempDir();
  try {
    const f = join(t.dir, 'missing', 'x');
    try {
      await writeFileAtomic(f, 'x');
      assert.unreachable('should have thrown');
    } catch (err) {
      assert.instance(err, OtaError);
      assert.is((err as OtaError).code, 'ENOENT');
      assert.match((err as OtaError).message, f);
    }
  } finally { t.cleanup(); }
});

test('readFileIfExists: undefined for a missing file, bytes otherwise', async () => {
  const t = tempDir();
  try {
    assert.is(await readFileIfExists(join(t.dir, 'nope')), undefined);
    await writeFileAtomic(join(t.dir, 'yes'), 'abc');
    assert.is((await readFileIfExists(join(t.dir, 'yes')))?.toString(), 'abc');
  } finally { t.cleanup(); }
});

test.run();
