import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeDelta, mapExt4 } from '../../../fleet/src/delta/index.js';
import { DELTA_FORMAT_VERSION, DELTA_MAX_DEFLATE_BYTES, parseDeltaHeader } from '../../../agent/src/formats/index.js';
import { fileBytes } from '../../../fleet/src/delta/ext4.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { randomBytes, roundTrip } from '../../support/delta.js';
import { ext4Image } from '../../support/ext4-image.js';

const missing = missingTools('ext4 delta tests', 'mke2fs', 'gzip');
const it = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-delta-ext4-');
test.after(cleanup);

const text = (seed: number, lines: number): string =>
  Array.from({ length: lines }, (_, i) => `line ${i}: ${randomBytes(12, seed + i).toString('hex')} the quick brown fox\n`).join('');

const image = (name: string, files: Record<string, Uint8Array>, gzipLevel = 9): Buffer => ext4Image(dir, name, files, gzipLevel);

const lib = randomBytes(600000, 1);
const libNew = Buffer.from(lib.map((b, i) => (i % 1000 === 7 ? b + 3 : b)));
const oldFiles = {
  'usr/lib/libx.so': lib,
  'usr/share/doc/x/changelog.gz': Buffer.from(text(1, 3000)),
  'usr/share/a.txt': Buffer.from(text(2, 200)),
  'etc/motd': Buffer.from('hello\n'),
};
const newFiles = {
  'usr/lib/libx.so': libNew,
  'usr/share/doc/x/changelog.gz': Buffer.from(`new entry: a security fix\n${text(1, 3000)}`),
  'usr/share/a.txt': Buffer.from(text(2, 200)),
  'usr/share/b.txt': Buffer.from(text(3, 100)),
  'etc/motd': Buffer.from('hello again\n'),
};

it('the ext4 map finds every file with its exact bytes', () => {
  const img = image('map', oldFiles);
  const map = mapExt4(img);
  assert.ok(map !== undefined);
  assert.is(map.blockSizeBytes, 4096);
  const lib2 = map.byPath.get('/usr/lib/libx.so');
  assert.ok(lib2 !== undefined);
  assert.ok(Buffer.compare(Buffer.from(fileBytes(img, lib2)), lib) === 0);
  const motd = map.byPath.get('/etc/motd');
  // Tiny files may be inline in the inode; when they have blocks, their bytes must match.
  if (motd !== undefined && motd.extents.length > 0) assert.is(Buffer.from(fileBytes(img, motd)).toString(), 'hello\n');
  assert.ok(map.byPath.get('/usr/share/doc/x')?.directory);
});

it('not ext4: no map', () => {
  assert.is(mapExt4(randomBytes(8192, 5)), undefined);
});

it('a file-aware delta of real ext4 images round-trips, rebuilds the gzip file, and beats blocks alone', async () => {
  const a = image('a', oldFiles);
  const b = image('b', newFiles);
  const { delta, rebuilt } = await roundTrip(dir, a, b);
  assert.ok(Buffer.compare(rebuilt, b) === 0);
  const aware = encodeDelta(a, b);
  assert.is(aware.stats.files?.gzipRebuilt, 1);
  const blocks = encodeDelta(a, b, { fileAware: false });
  console.log(`# ext4 pair: file-aware ${delta.length} bytes, blocks only ${blocks.delta.length} bytes`);
  assert.ok(delta.length * 2 < blocks.delta.length, `${delta.length} vs ${blocks.delta.length}`);
});

// Levels 1-3 take gzip's deflate_fast path: the container accepts them and the device rebuilds them.
for (const level of [1, 3]) {
  it(`a gzip -${level} file is rebuilt from its diffed text too`, async () => {
    const a = image(`a${level}`, oldFiles, level);
    const b = image(`b${level}`, newFiles, level);
    const { rebuilt } = await roundTrip(dir, a, b);
    assert.ok(Buffer.compare(rebuilt, b) === 0);
    assert.is(encodeDelta(a, b).stats.files?.gzipRebuilt, 1);
  });
}

// Past DELTA_MAX_DEFLATE_BYTES the device streams the rebuild and the source (format 3); a member whose
// rebuild cannot fit one segment's bounds is diffed compressed, as before.
it('a gzip member of 2.5 MB of text is rebuilt (a format 3 delta); one of 4.5 MB falls back to its compressed bytes', async () => {
  const big = text(50, 45000);
  assert.ok(big.length > DELTA_MAX_DEFLATE_BYTES, `${big.length} bytes`);
  const a = image('big-a', { 'usr/share/doc/k/changelog.gz': Buffer.from(big) });
  const b = image('big-b', { 'usr/share/doc/k/changelog.gz': Buffer.from(`new entry: 20 stable releases\n${text(99, 300)}${big}`) });
  const { delta, rebuilt } = await roundTrip(dir, a, b);
  assert.ok(Buffer.compare(rebuilt, b) === 0);
  assert.is(parseDeltaHeader(delta).formatVersion, DELTA_FORMAT_VERSION);
  const made = encodeDelta(a, b);
  assert.is(made.stats.files?.gzipRebuilt, 1);
  const huge = text(60, 80000);
  const c = image('huge-a', { 'usr/share/doc/k/changelog.gz': Buffer.from(huge) });
  const d = image('huge-b', { 'usr/share/doc/k/changelog.gz': Buffer.from(`new entry\n${huge}`) });
  const fallback = await roundTrip(dir, c, d);
  assert.ok(Buffer.compare(fallback.rebuilt, d) === 0);
  assert.is(encodeDelta(c, d).stats.files?.gzipRebuilt, 0);
});

test.run();
