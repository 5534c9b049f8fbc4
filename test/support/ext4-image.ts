/**
 * Small ext4 images for delta tests, made with `mke2fs -d` from a tree of files
 * (a fixed fake time, so the same tree gives the same image).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

/**
 * Build a 16 MiB ext4 image `dir/name.img` from `files` (path -> bytes) and read it back;
 * .gz files are `gzip -<gzipLevel> -n` of their text.
 */
export function ext4Image(dir: string, name: string, files: Record<string, Uint8Array>, gzipLevel = 9): Buffer {
  const root = join(dir, `${name}-root`);
  for (const [path, bytes] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(join(full, '..'), { recursive: true });
    if (path.endsWith('.gz')) writeFileSync(full, spawnSync('gzip', [`-${gzipLevel}`, '-n', '-c'], { input: bytes }).stdout);
    else writeFileSync(full, bytes);
  }
  const img = join(dir, `${name}.img`);
  const r = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', root, img, '16M'], {
    env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/sbin:/usr/sbin`, E2FSPROGS_FAKE_TIME: '1700000000' },
  });
  assert.is(r.status, 0, String(r.stderr));
  return readFileSync(img);
}
