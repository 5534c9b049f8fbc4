/**
 * Two realistic root filesystem images for the demo: ext4 (`mke2fs -d`) made
 * from a generated tree of ELF-like binaries and libraries, text files and
 * gzip-compressed man pages (gzip -n -9 members made by our port of GNU gzip).
 * v2 is what a security fix looks like: one library patched in a few places
 * (with a small insertion that shifts what follows), a few man pages edited
 * and re-compressed, the version files bumped. Without mke2fs the tree is
 * packed into a plain file image instead (and the demo says so).
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipMember } from '../../../agent/src/delta/gzip/index.js';

/** A generated file: its path inside the root and its bytes. */
type Tree = Map<string, Uint8Array>;

/** How the two images were made. */
export interface DemoImages {
  readonly v1Path: string;
  readonly v2Path: string;
  readonly sizeBytes: number;
  /** `ext4` (mke2fs -d) or `plain` (mke2fs missing). */
  readonly kind: 'ext4' | 'plain';
  readonly files: number;
  /** What changed from v1 to v2, for the demo's story. */
  readonly changes: readonly string[];
}

/** A small deterministic PRNG (xorshift32): the same images on every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** Machine-code-like bytes: 4-byte words from a small opcode set with random operands (compresses like real code). */
function codeBytes(sizeBytes: number, seed: number): Uint8Array {
  const next = prng(seed);
  const opcodes = Array.from({ length: 96 }, () => next() & 0xfff0_0000);
  const out = new Uint8Array(sizeBytes);
  const view = new DataView(out.buffer);
  for (let k = 0; k + 4 <= sizeBytes; k += 4) {
    const r = next();
    view.setUint32(k, (opcodes[r % opcodes.length] ?? 0) | ((r >>> 8) & (r & 1 ? 0xff : 0xfffff)), true);
  }
  return out;
}

/** An ELF-like shared object or executable: header, code, a string table naming its symbols and version. */
function elf(name: string, sizeBytes: number, seed: number, version: string): Uint8Array {
  const header = Buffer.alloc(64);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  header.writeUInt16LE(3, 16);
  header.writeUInt16LE(0xb7, 18);
  const strings = Buffer.from(Array.from({ length: 200 }, (_, k) => `${name.replace(/\W/g, '_')}_fn_${k}`).join('\0') + `\0GCC: (Debian 12.2.0-14) 12.2.0\0${name} ${version}\0`);
  const code = codeBytes(sizeBytes - header.length - strings.length, seed);
  return Buffer.concat([header, code, strings]);
}

const WORDS = ('the a of to and in is for on with that by this be are from as or at file device update slot boot image option '
  + 'default print set value system user kernel write read error when if not no all each which may must see also').split(' ');

/** A man page in roff, `lines` long. */
function manPage(name: string, lines: number, seed: number, extra = ''): Uint8Array {
  const next = prng(seed);
  const body: string[] = [`.TH ${name.toUpperCase()} 1 "2026" "demo" "User Commands"`, '.SH NAME', `${name} \\- ${name} utility`, '.SH DESCRIPTION'];
  for (let k = 0; k < lines; k++) {
    if (k % 12 === 0) body.push(`.SH ${['OPTIONS', 'EXAMPLES', 'FILES', 'NOTES', 'BUGS'][k / 12 % 5]}`);
    body.push(Array.from({ length: 8 + (next() % 8) }, () => WORDS[next() % WORDS.length]).join(' '));
  }
  if (extra !== '') body.push('.SH SECURITY', extra);
  return Buffer.from(`${body.join('\n')}\n`);
}

/** A gzip member as `gzip -n -9` writes it (our port of GNU gzip's deflate). */
export function gzipN9(data: Uint8Array): Uint8Array {
  return gzipMember(data, { level: 9 });
}

const BINARIES: readonly [string, number][] = [
  ['bin/busybox', 640_000], ['usr/bin/ota-app', 420_000], ['usr/sbin/sensord', 260_000], ['usr/bin/curl', 230_000],
  ['lib/libc.so.6', 900_000], ['usr/lib/libcrypto.so.3', 1_200_000], ['usr/lib/libssl.so.3', 380_000], ['usr/lib/libz.so.1', 110_000],
];
const PATCHED_LIBRARY = 'usr/lib/libcrypto.so.3';
const MAN_PAGES = Array.from({ length: 36 }, (_, k) => `cmd${String(k).padStart(2, '0')}`);
const EDITED_PAGES = ['cmd03', 'cmd17', 'cmd29'];

/** The v1 tree and the v2 tree (a security fix of one library, edited man pages, new version). */
function trees(): { v1: Tree; v2: Tree; changes: string[] } {
  const v1: Tree = new Map();
  BINARIES.forEach(([path, size], k) => v1.set(path, elf(path.split('/').pop() ?? path, size, 1000 + k, 'v1.0.0')));
  MAN_PAGES.forEach((name, k) => v1.set(`usr/share/man/man1/${name}.1.gz`, gzipN9(manPage(name, 150 + k * 7, 50 + k))));
  for (let k = 0; k < 20; k++) v1.set(`etc/app/conf-${k}.conf`, Buffer.from(`# config ${k}\nenabled = true\nlevel = ${k}\n`));
  v1.set('etc/os-release', Buffer.from('NAME="Demo Linux"\nVERSION_ID="1.0.0"\n'));
  v1.set('etc/ota-version', Buffer.from('1\n'));
  const v2: Tree = new Map(v1);
  v2.set(PATCHED_LIBRARY, securityFix(v1.get(PATCHED_LIBRARY) ?? new Uint8Array()));
  for (const name of EDITED_PAGES) {
    const k = MAN_PAGES.indexOf(name);
    v2.set(`usr/share/man/man1/${name}.1.gz`, gzipN9(manPage(name, 150 + k * 7, 50 + k, 'Fixed CVE-2026-0042: bounds check on the record length.')));
  }
  v2.set('etc/os-release', Buffer.from('NAME="Demo Linux"\nVERSION_ID="1.0.1"\n'));
  v2.set('etc/ota-version', Buffer.from('2\n'));
  const changes = [`${PATCHED_LIBRARY}: 3 functions patched, 96 bytes of code inserted, branches relinked`, `${EDITED_PAGES.length} man pages edited and re-gzipped`, 'etc/os-release, etc/ota-version'];
  return { v1, v2, changes };
}

/** Patch three functions of a library and insert a few instructions (everything after them shifts). */
function securityFix(lib: Uint8Array): Uint8Array {
  const out = Buffer.from(lib);
  for (const at of [0.21, 0.47, 0.73]) out.set(codeBytes(512, Math.round(at * 1000)), Math.floor(out.length * at) & ~3);
  const cut = Math.floor(out.length * 0.5) & ~3;
  const s = out.toString('latin1').replace('v1.0.0', 'v1.0.1');
  const patched = Buffer.from(s, 'latin1');
  // Relinking moves what follows the insertion: branch targets past it change by the inserted size.
  for (let k = cut; k + 4 <= patched.length - 8192; k += 52) patched.writeUInt32LE((patched.readUInt32LE(k) + 96) >>> 0, k);
  return Buffer.concat([patched.subarray(0, cut), codeBytes(96, 7), patched.subarray(cut)]);
}

async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [path, bytes] of tree) {
    const file = join(root, path);
    await fsp.mkdir(dirname(file), { recursive: true });
    await fsp.writeFile(file, bytes);
    // Fixed times: the same tree makes the same image, as a reproducible build would.
    await fsp.utimes(file, 1_767_225_600, 1_767_225_600);
  }
}

/** True when `mke2fs` can be run. */
export function haveMke2fs(): boolean {
  try {
    execFileSync('mke2fs', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function mkext4(tree: string, image: string, sizeBytes: number): void {
  const uuid = '6f7a0c1e-0000-4000-8000-00000000d3e0';
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-L', 'rootfs', '-U', uuid, '-E', `hash_seed=${uuid},root_owner=0:0`,
    '-O', '^has_journal', '-d', tree, image, `${sizeBytes / 1024}k`], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, E2FSPROGS_FAKE_TIME: '1767225600' } });
}

/** Every file of a tree, one after another, 4 KiB aligned, in a zero-padded image (no mke2fs). */
async function plainImage(tree: Tree, image: string, sizeBytes: number): Promise<void> {
  const out = Buffer.alloc(sizeBytes);
  let at = 0;
  for (const [, bytes] of [...tree].sort(([a], [b]) => a.localeCompare(b))) {
    out.set(bytes, at);
    at = Math.ceil((at + bytes.length) / 4096) * 4096;
  }
  await fsp.writeFile(image, out);
}

/** Build `v1.img` and `v2.img` of `sizeBytes` in `dir` (ext4 when mke2fs is there). */
export async function buildImages(dir: string, sizeBytes = 8 * 1024 * 1024, kind: 'ext4' | 'plain' = haveMke2fs() ? 'ext4' : 'plain'): Promise<DemoImages> {
  const { v1, v2, changes } = trees();
  const v1Path = join(dir, 'v1.img');
  const v2Path = join(dir, 'v2.img');
  for (const [tree, image, name] of [[v1, v1Path, 'rootfs-v1'], [v2, v2Path, 'rootfs-v2']] as const) {
    if (kind === 'ext4') {
      await writeTree(join(dir, name), tree);
      mkext4(join(dir, name), image, sizeBytes);
    } else {
      await plainImage(tree, image, sizeBytes);
    }
  }
  return { v1Path, v2Path, sizeBytes, kind, files: v1.size, changes };
}
