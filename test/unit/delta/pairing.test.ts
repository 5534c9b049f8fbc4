import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FilePairer, shared, sketch, versionless, type Ext4File } from '../../../fleet/src/delta/index.js';
import { randomBytes } from '../../support/delta.js';

let inode = 10;
const file = (path: string, bytes: Uint8Array, directory = false): { f: Ext4File; bytes: Uint8Array } =>
  ({ f: { path, inode: inode++, directory, sizeBytes: bytes.length, extents: [] }, bytes });

function pairer(old: readonly { f: Ext4File; bytes: Uint8Array }[]): FilePairer {
  const bytes = new Map(old.map((o) => [o.f, o.bytes]));
  return new FilePairer(old.map((o) => o.f), new Map(old.map((o) => [o.f.path, o.f])), (f) => bytes.get(f) ?? new Uint8Array(0));
}

const edit = (b: Uint8Array, every = 700): Buffer => Buffer.from(b.map((x, i) => (i % every === 3 ? x ^ 0x40 : x)));

test('versions are set aside: every run of digits', () => {
  assert.is(versionless('/lib/modules/6.1.0-17-arm64/kernel/fs/xfs.ko'), versionless('/lib/modules/6.1.0-18-arm64/kernel/fs/xfs.ko'));
  assert.is(versionless('/usr/lib/libfoo.so.1.2'), '/usr/lib/libfoo.so.#.#');
  assert.is(versionless('/usr/lib/python3.11/os.py'), versionless('/usr/lib/python3.12/os.py'));
  assert.is.not(versionless('/usr/lib/libfoo.so.1'), versionless('/usr/lib/libbar.so.1'));
});

test('sketches: the same bytes share all, an edited copy most, unrelated bytes almost none', () => {
  const a = randomBytes(50000, 1);
  assert.is(shared(sketch(a), sketch(a)), 32);
  assert.ok(shared(sketch(a), sketch(edit(a))) >= 16, `${shared(sketch(a), sketch(edit(a)))}`);
  assert.ok(shared(sketch(a), sketch(randomBytes(50000, 2))) <= 2);
  assert.is(sketch(new Uint8Array(10)).length, 0);
});

const mod = file('/lib/modules/6.1.0-17-arm64/kernel/fs/xfs.ko', randomBytes(30000, 3));
const mod2 = file('/lib/modules/6.1.0-17-arm64/kernel/fs/btrfs.ko', randomBytes(30000, 4));
const lib = file('/usr/lib/libfoo.so.1.2', randomBytes(20000, 5));
const conf = file('/etc/app/settings.dat', randomBytes(20000, 6));
const tool = file('/usr/bin/frobnicate', randomBytes(20000, 7));
const doc = file('/usr/share/doc/app', new Uint8Array(4096), true);
const olds = [mod, mod2, lib, conf, tool, doc];

test('same path first; then the path without versions; then the name anywhere; then content', () => {
  const p = pairer(olds);
  assert.equal(p.pair(lib.f, lib.bytes), { old: lib.f, by: 'path' });
  const newMod = file('/lib/modules/6.1.0-18-arm64/kernel/fs/xfs.ko', edit(mod.bytes));
  assert.equal(p.pair(newMod.f, newMod.bytes), { old: mod.f, by: 'name' });
  const newLib = file('/usr/lib/libfoo.so.1.3', edit(lib.bytes));
  assert.equal(p.pair(newLib.f, newLib.bytes), { old: lib.f, by: 'name' });
  const moved = file('/opt/app/settings.dat', edit(conf.bytes));
  assert.equal(p.pair(moved.f, moved.bytes), { old: conf.f, by: 'name' });
  const renamed = file('/usr/sbin/widgetd', edit(tool.bytes));
  assert.equal(p.pair(renamed.f, renamed.bytes), { old: tool.f, by: 'content' });
});

test('nothing alike: no pairing; a directory pairs only with a directory; an empty file with nothing', () => {
  const p = pairer(olds);
  const stranger = file('/usr/bin/other', randomBytes(20000, 8));
  assert.is(p.pair(stranger.f, stranger.bytes), undefined);
  const dirNew = file('/usr/share/doc/app', new Uint8Array(4096), true);
  assert.equal(p.pair(dirNew.f, dirNew.bytes), { old: doc.f, by: 'path' });
  const notDir = file('/usr/share/doc/app', new Uint8Array(4096));
  assert.is(p.pair(notDir.f, notDir.bytes), undefined);
  assert.is(p.pair(file('/usr/lib/libfoo.so.1.4', new Uint8Array(0)).f, new Uint8Array(0)), undefined);
});

test('among several files of the same versionless name, the one sharing most content wins', () => {
  const v1 = file('/usr/lib/libbar.so.1.0', randomBytes(20000, 9));
  const v2 = file('/usr/lib/libbar.so.2.0', randomBytes(20000, 10));
  const p = pairer([v1, v2]);
  const next = file('/usr/lib/libbar.so.2.1', edit(v2.bytes));
  assert.equal(p.pair(next.f, next.bytes), { old: v2.f, by: 'name' });
  const prev = file('/usr/lib/libbar.so.1.1', edit(v1.bytes));
  assert.equal(p.pair(prev.f, prev.bytes), { old: v1.f, by: 'name' });
});

test('pairing off (no old files given): same path only', () => {
  const p = new FilePairer([], new Map([[lib.f.path, lib.f]]), () => new Uint8Array(0));
  const newLib = file('/usr/lib/libfoo.so.1.3', edit(lib.bytes));
  assert.is(p.pair(newLib.f, newLib.bytes), undefined);
  assert.equal(p.pair(lib.f, lib.bytes), { old: lib.f, by: 'path' });
});

test.run();
