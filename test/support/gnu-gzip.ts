/**
 * The real GNU gzip as an oracle for the gzip port: compress through a temp
 * file (as dh_compress does, so reads are whole-file reads) and split its output.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from './delta.js';

/** What `gzip -n -<level>` writes for `input`: the whole member, from a file in `dir`. */
export function gnuGzipMember(input: Uint8Array, level: number, dir: string, extraArgs: readonly string[] = ['-n']): Buffer {
  const file = join(dir, 'input');
  writeFileSync(file, input);
  const r = spawnSync('gzip', [`-${level}`, ...extraArgs, '-c', file], { maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`gzip -${level} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** The raw deflate body `gzip -n -<level>` writes (after its 10-byte header, before the 8-byte trailer). */
export function gnuGzipDeflate(input: Uint8Array, level: number, dir: string): Buffer {
  const out = gnuGzipMember(input, level, dir);
  return out.subarray(10, out.length - 8);
}

const WORDS = ['the ', 'openssl ', 'library', ' ', '\n', 'security ', 'fix', 'CVE-2024-', '.TH ', 'changelog', '-- ', 'Debian', 'x', 'SSL_CTX_new(3)'];

/** Text-like bytes from a small vocabulary: matches of every length and distance occur. */
export function textLike(lengthBytes: number, seed: number): Buffer {
  const r = randomBytes(lengthBytes + 16, seed);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < lengthBytes; i++) {
    const w = WORDS[(r[i % r.length]! + (i >> 8)) % WORDS.length]!;
    parts.push(w);
    size += w.length;
  }
  return Buffer.from(parts.join('').slice(0, lengthBytes));
}
