import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainerBuilder } from '../../../fleet/src/delta/index.js';
import { tempDir } from '../../support/tools.js';
import { randomBytes } from '../../support/delta.js';

const { dir, cleanup } = tempDir('ota-delta-mem-');
test.after(cleanup);

const MiB = 1024 * 1024;
const child = fileURLToPath(new URL('../../support/delta-apply-child.js', import.meta.url));

/**
 * A sparse pair of `sizeBytes`: the base holds eight 1 MiB random chunks spread
 * over it; the target moves them by 4 KiB and adds 2 MiB of literal bytes at the
 * end. The delta is built op by op (no image in memory), mostly zero and copy ops.
 */
function syntheticPair(sizeBytes: number, name: string): { delta: string; base: string; out: string } {
  const chunks = Array.from({ length: 8 }, (_, k) => ({ at: (k * sizeBytes) / 8, bytes: randomBytes(MiB, k + 1) }));
  const base = join(dir, `${name}.base`);
  const fd = openSync(base, 'w');
  ftruncateSync(fd, sizeBytes);
  for (const c of chunks) writeSync(fd, c.bytes, 0, c.bytes.length, c.at);
  closeSync(fd);
  const baseHash = hashSparse(sizeBytes, chunks);
  const tail = randomBytes(2 * MiB, 99);
  const moved = chunks.map((c) => ({ at: c.at + 4096, bytes: c.bytes }));
  const targetHash = hashSparse(sizeBytes - tail.length, moved, tail);
  const b = new ContainerBuilder();
  let at = 0;
  chunks.forEach((c, k) => {
    const m = moved[k]!;
    b.zero(m.at - at);
    b.copy(c.at, c.bytes.length);
    at = m.at + c.bytes.length;
  });
  b.zero(sizeBytes - tail.length - at);
  b.literal(tail);
  const delta = join(dir, `${name}.delta`);
  writeFileSync(delta, b.finish({ full: false, baseSizeBytes: sizeBytes, baseSha256: baseHash, targetSizeBytes: sizeBytes, targetSha256: targetHash }));
  return { delta, base, out: join(dir, `${name}.out`) };
}

function hashSparse(sizeBytes: number, chunks: { at: number; bytes: Uint8Array }[], tail?: Uint8Array): Uint8Array {
  const h = createHash('sha256');
  const zero = Buffer.alloc(MiB);
  let at = 0;
  for (const c of chunks) {
    for (; at < c.at; at += Math.min(MiB, c.at - at)) h.update(zero.subarray(0, Math.min(MiB, c.at - at)));
    h.update(c.bytes);
    at += c.bytes.length;
  }
  for (; at < sizeBytes; at += Math.min(MiB, sizeBytes - at)) h.update(zero.subarray(0, Math.min(MiB, sizeBytes - at)));
  if (tail !== undefined) h.update(tail);
  return h.digest();
}

/**
 * The device runtime settings the agent's service uses on a small board: one malloc arena
 * (libuv's worker threads otherwise each touch their own) and a 1 MiB V8 semi-space. Without
 * them the same apply peaks 2-6 MiB higher on the 1 GiB pair, by allocator and GC timing.
 */
const DEVICE_RUNTIME = { flags: ['--max-semi-space-size=1'], env: { MALLOC_ARENA_MAX: '1' } };

function applyInChild(p: { delta: string; base: string; out: string }): { idleBytes: number; peakBytes: number } {
  const r = spawnSync(process.execPath, [...DEVICE_RUNTIME.flags, child, p.delta, p.base, p.out], {
    encoding: 'utf8', env: { ...process.env, ...DEVICE_RUNTIME.env, NODE_V8_COVERAGE: '' },
  });
  assert.is(r.status, 0, r.stderr);
  const parsed: unknown = JSON.parse(r.stdout);
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`child printed ${r.stdout}`);
  const idle = Reflect.get(parsed, 'idleBytes');
  const peak = Reflect.get(parsed, 'peakBytes');
  if (typeof idle !== 'number' || typeof peak !== 'number') throw new Error(`child printed ${r.stdout}`);
  return { idleBytes: idle, peakBytes: peak };
}

test('apply memory is flat: 64 MiB and 1 GiB images differ by less than 4 MiB of peak RSS, growth at most 16 MiB', () => {
  const small = applyInChild(syntheticPair(64 * MiB, 'small'));
  const large = applyInChild(syntheticPair(1024 * MiB, 'large'));
  const fmt = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;
  console.log(`# peak RSS: 64 MiB pair ${fmt(small.peakBytes)} (idle ${fmt(small.idleBytes)}), 1 GiB pair ${fmt(large.peakBytes)} (idle ${fmt(large.idleBytes)})`);
  assert.ok(Math.abs(large.peakBytes - small.peakBytes) < 4 * MiB, `differ by ${fmt(large.peakBytes - small.peakBytes)}`);
  assert.ok(large.peakBytes - large.idleBytes <= 16 * MiB, `1 GiB growth ${fmt(large.peakBytes - large.idleBytes)}`);
  assert.ok(small.peakBytes - small.idleBytes <= 16 * MiB, `64 MiB growth ${fmt(small.peakBytes - small.idleBytes)}`);
});

test.run();
