// The slot table on real files: the booted slot is never a target (by name or by another path
// to the same file), sizes, read-back hashes, the raw writer's size check, the slot records.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtaError } from '../../../agent/src/errors/index.js';
import { SlotRecordStore, SlotTable, SlotWriter, decodeSlotRecords, hashSlot } from '../../../agent/src/slots/index.js';
import { tempDir } from '../../support/tools.js';

const code = (c: string) => (e: unknown): boolean => e instanceof OtaError && e.code === c;

async function rejects(p: Promise<unknown>, c: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(code(c)(err), `expected ${c}, got ${String(err)}`);
    return;
  }
  assert.unreachable(`expected ${c}`);
}

test('the booted slot is refused as a target, also through a symlink; the other slot is sized from its file', async () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.dir, 'a.img'), Buffer.alloc(8192));
    writeFileSync(join(t.dir, 'b.img'), Buffer.alloc(4096));
    symlinkSync(join(t.dir, 'a.img'), join(t.dir, 'alias.img'));
    const table = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: join(t.dir, 'b.img') } });
    await rejects(table.target('A', 'A'), 'SLOT_BOOTED');
    assert.equal(await table.target('B', 'A'), { slot: 'B', device: join(t.dir, 'b.img'), sizeBytes: 4096 });
    const aliased = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: join(t.dir, 'alias.img') } });
    await rejects(aliased.target('B', 'A'), 'SLOT_BOOTED');
    const sized = new SlotTable({ A: { device: join(t.dir, 'a.img') }, B: { device: join(t.dir, 'b.img'), sizeBytes: 2048 } });
    assert.is(await sized.sizeBytes('B'), 2048);
    await rejects(new SlotTable({ A: { device: join(t.dir, 'none.img') }, B: { device: join(t.dir, 'b.img') } }).sizeBytes('A'), 'SLOT_MISSING');
  } finally { t.cleanup(); }
});

test('the writer refuses an image larger than the slot; hashSlot reads back a prefix and refuses a short slot', async () => {
  const t = tempDir();
  try {
    const b = join(t.dir, 'b.img');
    writeFileSync(b, Buffer.alloc(4096));
    await rejects(SlotWriter.open({ slot: 'B', device: b, sizeBytes: 4096 }, 4097), 'SLOT_TOO_SMALL');
    const w = await SlotWriter.open({ slot: 'B', device: b, sizeBytes: 4096 }, 3000);
    const bytes = Buffer.from('hello slot');
    await w.write(100, bytes);
    await w.close();
    const expected = Buffer.alloc(3000);
    bytes.copy(expected, 100);
    assert.is(await hashSlot(b, 3000), createHash('sha256').update(expected).digest('hex'));
    await rejects(hashSlot(b, 5000), 'SLOT_SHORT');
  } finally { t.cleanup(); }
});

test('slot records round-trip; a damaged file reads as empty', async () => {
  const t = tempDir();
  try {
    const store = new SlotRecordStore(t.dir);
    assert.equal(await store.load(), { slots: {} });
    const sha256 = 'ab'.repeat(32);
    await store.setContent('A', { version: 4, sizeBytes: 10, sha256 });
    await store.setCommitted('A');
    await store.setContent('B', { version: null, sizeBytes: 3, sha256 });
    await store.setContent('B', null);
    assert.equal(await store.load(), { slots: { A: { version: 4, sizeBytes: 10, sha256 } }, committed: 'A' });
    writeFileSync(join(t.dir, 'slots.json'), '{"format":"ota-slots/1","slots":{"A":{"version":');
    assert.equal(await store.load(), { slots: {} });
    assert.equal(decodeSlotRecords('{"format":"ota-slots/1","slots":{"A":{"version":1,"sizeBytes":1,"sha256":"xyz"}},"committed":"C"}'), { slots: {} });
  } finally { t.cleanup(); }
});

test.run();
