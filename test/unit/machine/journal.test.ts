/** The journal codec: round trip, and every bit flip or truncation reads as corrupt, never as another record. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { decodeJournal, encodeJournal } from '../../../agent/src/machine/index.js';
import type { JournalRecord } from '../../../agent/src/machine/index.js';

const record: JournalRecord = {
  state: 'checking', highestSequence: 7,
  job: { noticeBase64: 'AAEC', version: 21, sequence: 7, target: 'B', previous: 'A', progress: 4096, saves: { checking: 2 } },
  last: { outcome: 'installed', version: 20 },
};

test('round trip', () => {
  assert.equal(decodeJournal(encodeJournal(record)), { kind: 'ok', record });
});

test('every single bit flip is corrupt', () => {
  const bytes = Buffer.from(encodeJournal(record));
  for (let i = 0; i < bytes.length * 8; i++) {
    const flipped = Buffer.from(bytes);
    flipped[i >> 3] = (flipped[i >> 3] ?? 0) ^ (1 << (i & 7));
    const loaded = decodeJournal(flipped.toString('utf8'));
    // Flips in JSON whitespace (the final newline) leave the same record: that is not corruption.
    if (loaded.kind === 'ok') assert.equal(loaded.record, record, `bit ${i}`);
  }
});

test('every truncation is corrupt', () => {
  const text = encodeJournal(record).trimEnd();
  for (let n = 0; n < text.length; n++) assert.is(decodeJournal(text.slice(0, n)).kind, 'corrupt', `length ${n}`);
});

/** A journal body signed as the codec does, with `fields` over the record's. */
function withBody(fields: Record<string, unknown>): string {
  const body = JSON.stringify({ ...record, ...fields });
  return JSON.stringify({ format: 'ota-journal/1', sha256: createHash('sha256').update(body).digest('hex'), body });
}

test('release versions are numbers; the decimal strings an earlier agent wrote read as the same numbers, anything else is corrupt', () => {
  const legacy = decodeJournal(withBody({ job: { ...record.job, version: '21' }, last: { outcome: 'installed', version: '20' } }));
  assert.equal(legacy, { kind: 'ok', record });
  for (const version of ['2.0.1', 'v2', '', '01', -1, 1.5]) {
    assert.is(decodeJournal(withBody({ job: { ...record.job, version } })).kind, 'corrupt', JSON.stringify(version));
    assert.is(decodeJournal(withBody({ last: { outcome: 'failed', version } })).kind, 'corrupt', JSON.stringify(version));
  }
});

test('the channel of the update in flight round-trips; one that is not a channel name is corrupt; a journal without it reads as before', () => {
  const job = record.job ?? { noticeBase64: '', progress: 0, saves: {} };
  const switching: JournalRecord = { ...record, job: { ...job, channel: 'stable' } };
  assert.equal(decodeJournal(encodeJournal(switching)), { kind: 'ok', record: switching });
  for (const channel of ['Stable', '', 'a/b', 3]) assert.is(decodeJournal(withBody({ job: { ...job, channel } })).kind, 'corrupt', JSON.stringify(channel));
  assert.equal(decodeJournal(encodeJournal(record)), { kind: 'ok', record });
});

test('an unknown state or format is corrupt', () => {
  const body = JSON.stringify({ ...record, state: 'dancing' });
  const sha256 = createHash('sha256').update(body).digest('hex');
  const loaded = decodeJournal(JSON.stringify({ format: 'ota-journal/1', sha256, body }));
  assert.equal(loaded, { kind: 'corrupt', reason: 'fields out of range' });
  assert.is(decodeJournal('{"format":"ota-journal/9"}').kind, 'corrupt');
});

test.run();
