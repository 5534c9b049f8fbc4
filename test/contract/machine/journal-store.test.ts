/**
 * One JournalStore suite, run against every implementation: the real FileJournal
 * and the MemoryJournal fake the unit tests use, so the fake cannot drift.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FileJournal } from '../../../agent/src/machine/index.js';
import type { JournalRecord, JournalStore } from '../../../agent/src/machine/index.js';
import { MemoryJournal } from '../../support/fake-device.js';
import { tempDir } from '../../support/tools.js';

const records: JournalRecord[] = [
  { state: 'idle', highestSequence: 0 },
  { state: 'installing', highestSequence: 4, job: { noticeBase64: 'AA==', sequence: 4, version: 4, target: 'B', previous: 'A', progress: 123, saves: { installing: 2, verifying: 1 } } },
  { state: 'reverting', highestSequence: 4, job: { noticeBase64: '', progress: 0, saves: {}, error: 'journal unreadable' } },
  { state: 'idle', highestSequence: 9, last: { outcome: 'reverted', version: 9, error: 'required health check failed' } },
];

const implementations: { name: string; make: () => { store: JournalStore; cleanup: () => void } }[] = [
  { name: 'FileJournal', make: () => { const t = tempDir(); return { store: new FileJournal(join(t.dir, 'journal.json')), cleanup: t.cleanup }; } },
  { name: 'MemoryJournal', make: () => ({ store: new MemoryJournal(), cleanup: () => undefined }) },
];

for (const { name, make } of implementations) {
  test(`${name}: empty before the first save`, async () => {
    const { store, cleanup } = make();
    try { assert.equal(await store.load(), { kind: 'empty' }); } finally { cleanup(); }
  });

  test(`${name}: each save replaces the last; load returns it exactly`, async () => {
    const { store, cleanup } = make();
    try {
      for (const record of records) {
        await store.save(record);
        assert.equal(await store.load(), { kind: 'ok', record });
      }
    } finally { cleanup(); }
  });
}

test.run();
