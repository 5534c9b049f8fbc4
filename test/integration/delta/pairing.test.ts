import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeDelta, STRATEGIES } from '../../../fleet/src/delta/index.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';
import { randomBytes, roundTrip } from '../../support/delta.js';
import { ext4Image } from '../../support/ext4-image.js';

const missing = missingTools('delta pairing tests', 'mke2fs');
const it = gate(missingReason(missing));
const { dir, cleanup } = tempDir('ota-delta-pairing-');
test.after(cleanup);

/** A recompiled binary: a few bytes changed every `every` bytes, `inserted` bytes near the start (later code moves). */
function rebuilt(bytes: Uint8Array, seed: number, every = 1500, inserted = 24): Buffer {
  const edited = Buffer.from(bytes.map((b, i) => (i % every === seed % every ? b ^ 0x5a : b)));
  const at = 100 + (seed % 400);
  return Buffer.concat([edited.subarray(0, at), randomBytes(inserted, seed + 7), edited.subarray(at)]);
}

const modules = ['net/e1000.ko', 'net/r8169.ko', 'usb/xhci.ko', 'usb/storage.ko', 'fs/btrfs.ko', 'fs/xfs.ko', 'gpu/drm.ko', 'sound/snd.ko'];
const oldFiles: Record<string, Uint8Array> = {};
const newFiles: Record<string, Uint8Array> = {};
modules.forEach((m, i) => {
  const bytes = randomBytes(40000 + i * 7000, 100 + i);
  oldFiles[`lib/modules/6.1.0-17-arm64/kernel/${m}`] = bytes;
  newFiles[`lib/modules/6.1.0-18-arm64/kernel/${m}`] = rebuilt(bytes, i);
});
const libfoo = randomBytes(300000, 3);
oldFiles['usr/lib/libfoo.so.1.2'] = libfoo;
newFiles['usr/lib/libfoo.so.1.3'] = rebuilt(libfoo, 11, 4000);
// Moved to another folder, and edited.
const data = randomBytes(120000, 4);
oldFiles['usr/share/app/blob.dat'] = data;
newFiles['opt/app/data/blob.dat'] = rebuilt(data, 5, 8000);
// Renamed with nothing in common but its content.
const tool = randomBytes(90000, 5);
oldFiles['usr/bin/frobnicate'] = tool;
newFiles['usr/sbin/widgetd'] = rebuilt(tool, 9, 5000);
// Unchanged, so the images share most of their blocks.
oldFiles['usr/share/doc/readme'] = newFiles['usr/share/doc/readme'] = randomBytes(200000, 6);

it('renamed and re-versioned files pair with their old selves: the delta is at most 0.3 x today\'s (same path only), and rebuilds B', async () => {
  const a = ext4Image(dir, 'a', oldFiles);
  const b = ext4Image(dir, 'b', newFiles);
  const today = encodeDelta(a, b, { pairing: false, contentMatch: false });
  const paired = encodeDelta(a, b, { contentMatch: false });
  console.log(`# renamed pair: today ${today.delta.length} bytes, paired ${paired.delta.length} (${(paired.delta.length / today.delta.length).toFixed(3)} x)`);
  assert.ok(paired.delta.length <= 0.3 * today.delta.length, `${paired.delta.length} vs ${today.delta.length}`);
  assert.ok((paired.stats.files?.pairedByName ?? 0) >= modules.length + 2, `paired by name: ${paired.stats.files?.pairedByName}`);
  assert.ok((paired.stats.files?.pairedByContent ?? 0) >= 1, `paired by content: ${paired.stats.files?.pairedByContent}`);
  const { delta, rebuilt: out } = await roundTrip(dir, a, b, { contentMatch: false });
  assert.is(delta.length, paired.delta.length);
  assert.ok(Buffer.compare(out, b) === 0, 'apply gives B byte for byte');
});

it('with every strategy on, the delta is no larger than with pairing alone, rebuilds B, and its strategies sum to the image', async () => {
  const a = ext4Image(dir, 'a2', oldFiles);
  const b = ext4Image(dir, 'b2', newFiles);
  const paired = encodeDelta(a, b, { contentMatch: false });
  const { delta, rebuilt: out } = await roundTrip(dir, a, b);
  console.log(`# renamed pair: every strategy ${delta.length} bytes`);
  assert.ok(delta.length <= paired.delta.length * 1.02, `${delta.length} vs ${paired.delta.length}`);
  assert.ok(Buffer.compare(out, b) === 0);
  const { strategies } = encodeDelta(a, b).stats;
  assert.is(STRATEGIES.reduce((sum, k) => sum + strategies[k], 0), b.length);
});

test.run();
