// OSTree's rule for /etc on an overlay, as a table: what the device's upper holds, what the running
// release's /etc and the new release's /etc have at that path, and whether that is a reported conflict.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OtaError } from '../../../agent/src/errors/index.js';
import { encodeManifest, findConflicts, parseManifest, type EtcEntry, type UpperEntry } from '../../../agent/src/etc/index.js';

const f = (text: string, mode = 0o644): EtcEntry => ({ kind: 'file', mode, sha256: text.repeat(64).slice(0, 64) });
const d = (mode = 0o755): EtcEntry => ({ kind: 'dir', mode });
const l = (target: string): EtcEntry => ({ kind: 'symlink', target });
const wh: UpperEntry = { kind: 'whiteout' };

type Row = [name: string, upper: UpperEntry, running: EtcEntry | undefined, next: EtcEntry | undefined, conflict: boolean];
const rows: Row[] = [
  ['device changed, release did not', f('b'), f('a'), f('a'), false],
  ['device changed, release changed too', f('b'), f('a'), f('c'), true],
  ['both made the same change', f('c'), f('a'), f('c'), false],
  ['device changed the mode, release changed the content', f('a', 0o600), f('a'), f('c'), true],
  ['release changed only the mode of a file the device changed', f('b'), f('a'), f('a', 0o600), true],
  ['device added, release has nothing there', f('b'), undefined, undefined, false],
  ['device added, release added the same path', f('b'), undefined, f('c'), true],
  ['device added, release added the same bytes', f('b'), undefined, f('b'), false],
  ['device changed, release deleted it', f('b'), f('a'), undefined, true],
  ['device deleted, release did not touch it', wh, f('a'), f('a'), false],
  ['device deleted, release changed it', wh, f('a'), f('c'), true],
  ['device deleted, release deleted it too', wh, f('a'), undefined, false],
  ['device deleted a file the release now adds again', wh, undefined, f('c'), true],
  ['device holds a directory (changes below), release untouched', d(), d(), d(), false],
  ['device holds a directory, release changed its mode', d(), d(), d(0o700), true],
  ['device holds a directory, release removed it', d(), d(), undefined, false],
  ['device holds a directory, release made it a symlink', d(), d(), l('/usr/etc/x'), true],
  ['device re-pointed a symlink, release did not', l('/b'), l('/a'), l('/a'), false],
  ['device re-pointed a symlink, release re-pointed it too', l('/b'), l('/a'), l('/c'), true],
];

for (const [name, upper, running, next, conflict] of rows) {
  test(name, () => {
    const r = findConflicts(new Map([['x', upper]]), new Map(running === undefined ? [] : [['x', running]]), new Map(next === undefined ? [] : [['x', next]]));
    assert.equal(r, conflict ? { paths: ['x'], total: 1 } : { paths: [], total: 0 });
  });
}

test('the report is sorted and bounded, and counts every conflict', () => {
  const upper = new Map<string, UpperEntry>(Array.from({ length: 10 }, (_, k) => [`f${9 - k}`, f('b')]));
  const running = new Map([...upper.keys()].map((p) => [p, f('a')]));
  const next = new Map([...upper.keys()].map((p) => [p, f('c')]));
  assert.equal(findConflicts(upper, running, next, 3), { paths: ['f0', 'f1', 'f2'], total: 10 });
});

test('a manifest reads back as encoded, and its bytes do not depend on insertion order', () => {
  const m = new Map<string, EtcEntry>([['ssh/sshd_config', f('a', 0o600)], ['ssh', d()], ['localtime', l('/usr/share/zoneinfo/UTC')], ['initctl', { kind: 'other', mode: 0o600 }]]);
  const bytes = encodeManifest(m);
  assert.equal(parseManifest(bytes, 'm'), new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1))));
  assert.equal(Buffer.from(encodeManifest(new Map([...m].reverse()))), Buffer.from(bytes));
});

const refused = (doc: unknown): string => {
  try {
    parseManifest(Buffer.from(JSON.stringify(doc)), 'release 2\'s /etc manifest');
  } catch (err) {
    if (err instanceof OtaError) return err.code;
    throw err;
  }
  return 'accepted';
};

test('a manifest with a bad entry is refused with ETC_MANIFEST_INVALID', () => {
  const doc = (entries: unknown[]): unknown => ({ format: 'ota-etc-manifest/1', entries });
  assert.is(refused(doc([['hostname', 'f', 420, 'a'.repeat(64)]])), 'accepted');
  for (const bad of [
    [['../shadow', 'f', 420, 'a'.repeat(64)]], [['/abs', 'd', 493]], [['x', 'f', 420, 'nothex']], [['x', 'd', 0o10000]],
    [['x', 'q', 420]], [['x', 'd', 493], ['x', 'd', 493]], [['a/./b', 'd', 493]], [['x', 'l', '']],
  ]) assert.is(refused(doc(bad)), 'ETC_MANIFEST_INVALID', JSON.stringify(bad));
  assert.is(refused({ format: 'other', entries: [] }), 'ETC_MANIFEST_INVALID');
});

test.run();
