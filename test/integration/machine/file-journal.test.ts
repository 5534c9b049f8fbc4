/** The file journal on real files: durable replace, missing, torn and foreign files. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileJournal } from '../../../agent/src/machine/index.js';
import type { JournalRecord } from '../../../agent/src/machine/index.js';
import { tempDir } from '../../support/tools.js';

const record: JournalRecord = { state: 'arming', highestSequence: 3,
  job: { noticeBase64: 'eyJ9', version: 3, sequence: 3, target: 'B', previous: 'A', progress: 10, saves: { arming: 1 } } };

test('save then load; the file is private and no temp file stays behind', async () => {
  const t = tempDir();
  try {
    const j = new FileJournal(join(t.dir, 'journal.json'));
    assert.equal(await j.load(), { kind: 'empty' });
    await j.save({ state: 'idle', highestSequence: 0 });
    await j.save(record);
    assert.equal(await j.load(), { kind: 'ok', record });
    assert.equal(readdirSync(t.dir), ['journal.json']);
    assert.is(statSync(join(t.dir, 'journal.json')).mode & 0o777, 0o600);
  } finally { t.cleanup(); }
});

test('a torn or foreign file loads as corrupt (which resumes into a revert)', async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, 'journal.json');
    const j = new FileJournal(file);
    await j.save(record);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length >> 1));
    assert.is((await j.load()).kind, 'corrupt');
    writeFileSync(file, '');
    assert.is((await j.load()).kind, 'corrupt');
    writeFileSync(file, '{"state":"idle"}');
    assert.is((await j.load()).kind, 'corrupt');
  } finally { t.cleanup(); }
});

test.run();
