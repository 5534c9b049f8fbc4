/**
 * A manifest of an `/etc` tree: relative path -> what is there (a directory and
 * its mode, a regular file's mode and sha256, a symlink's target). The fleet
 * records the release image's `/etc` this way (an artifact of the signed
 * release); the agent scans the running slot's pristine `/etc` into the same
 * form, and comparing the two says which files a release changed.
 *
 * Wire form: `{"format":"ota-etc-manifest/1","entries":[[PATH,"d",MODE],
 * [PATH,"f",MODE,SHA256],[PATH,"l",TARGET],[PATH,"o",MODE]]}`, sorted by path.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { OtaError, errnoCode, withContext } from '../errors/index.js';
import { parseStrictJson, type JsonValue } from '../formats/index.js';

/** What one path of an /etc tree is; `mode` is the permission bits (07777). */
export type EtcEntry =
  | { readonly kind: 'dir'; readonly mode: number }
  | { readonly kind: 'file'; readonly mode: number; readonly sha256: string }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'other'; readonly mode: number };

/** Path relative to the /etc root ('/'-separated, no leading slash) -> entry. */
export type EtcManifest = ReadonlyMap<string, EtcEntry>;

/** The manifest format's name. */
export const ETC_MANIFEST_FORMAT = 'ota-etc-manifest/1';
/** Bounds: a Debian /etc holds about 2,000 paths. */
export const ETC_MANIFEST_LIMITS = { maxEntries: 65_536, maxBytes: 16 * 1024 * 1024 } as const;

const PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[^/\0][^\0]{0,4095}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** True when `a` and `b` describe the same content (both absent counts as the same). */
export function sameEntry(a: EtcEntry | undefined, b: EtcEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'symlink' || b.kind === 'symlink') return a.kind === 'symlink' && b.kind === 'symlink' && a.target === b.target;
  if (a.mode !== b.mode) return false;
  return a.kind !== 'file' || (b.kind === 'file' && a.sha256 === b.sha256);
}

/** The manifest's bytes (sorted, so one tree always gives the same bytes). */
export function encodeManifest(manifest: EtcManifest): Uint8Array {
  const entries = [...manifest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, e]) => {
    switch (e.kind) {
      case 'dir': return [path, 'd', e.mode];
      case 'file': return [path, 'f', e.mode, e.sha256];
      case 'symlink': return [path, 'l', e.target];
      case 'other': return [path, 'o', e.mode];
    }
  });
  return Buffer.from(JSON.stringify({ format: ETC_MANIFEST_FORMAT, entries }));
}

/** Read a manifest's bytes, checked entry by entry; `what` names it in errors. */
export function parseManifest(bytes: Uint8Array, what: string): EtcManifest {
  const bad = (detail: string): OtaError => new OtaError('ETC_MANIFEST_INVALID', `${what}: ${detail}: make the release again with a current ota-fleet`);
  if (bytes.byteLength > ETC_MANIFEST_LIMITS.maxBytes) throw bad(`${bytes.byteLength} bytes, over ${ETC_MANIFEST_LIMITS.maxBytes}`);
  let doc: JsonValue;
  try {
    doc = parseStrictJson(bytes, { maxBytes: ETC_MANIFEST_LIMITS.maxBytes, maxDepth: 4 }, what);
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || doc['format'] !== ETC_MANIFEST_FORMAT) throw bad(`not an ${ETC_MANIFEST_FORMAT} document`);
  const list = doc['entries'];
  if (!Array.isArray(list) || list.length > ETC_MANIFEST_LIMITS.maxEntries) throw bad(`"entries" must be a list of at most ${ETC_MANIFEST_LIMITS.maxEntries}`);
  const out = new Map<string, EtcEntry>();
  list.forEach((item, k) => {
    const entry = Array.isArray(item) ? entryOf(item) : undefined;
    const path = Array.isArray(item) ? item[0] : undefined;
    if (entry === undefined || typeof path !== 'string' || !PATH.test(path) || out.has(path)) throw bad(`entries[${k}] is not a valid, unique entry`);
    out.set(path, entry);
  });
  return out;
}

function entryOf(item: readonly JsonValue[]): EtcEntry | undefined {
  const [, kind, a, b] = item;
  const mode = typeof a === 'number' && Number.isInteger(a) && a >= 0 && a <= 0o7777 ? a : undefined;
  if (kind === 'l' && item.length === 3 && typeof a === 'string' && a.length > 0 && a.length <= 4096) return { kind: 'symlink', target: a };
  if (mode === undefined) return undefined;
  if (kind === 'd' && item.length === 3) return { kind: 'dir', mode };
  if (kind === 'o' && item.length === 3) return { kind: 'other', mode };
  if (kind === 'f' && item.length === 4 && typeof b === 'string' && SHA256.test(b)) return { kind: 'file', mode, sha256: b };
  return undefined;
}

/** The entry for the file at `abs` (lstat: a symlink is not followed); undefined when nothing is there. */
export async function entryAt(abs: string): Promise<EtcEntry | undefined> {
  const st = await fsp.lstat(abs).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw withContext(`etc: ${abs}`, err);
  });
  if (st === undefined) return undefined;
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) return { kind: 'dir', mode };
  if (st.isSymbolicLink()) return { kind: 'symlink', target: await fsp.readlink(abs) };
  if (!st.isFile()) return { kind: 'other', mode };
  return { kind: 'file', mode, sha256: await hashFile(abs) };
}

async function hashFile(abs: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs)) hash.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return hash.digest('hex');
}

/** Scan the whole tree under `root` (not `root` itself) into a manifest; refuses a tree over the entry bound. */
export async function scanTree(root: string): Promise<Map<string, EtcEntry>> {
  const out = new Map<string, EtcEntry>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await fsp.readdir(rel === '' ? root : join(root, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const entry = await entryAt(join(root, path));
      if (entry === undefined) continue;
      if (out.size >= ETC_MANIFEST_LIMITS.maxEntries) throw new OtaError('ETC_MANIFEST_TOO_LARGE', `etc: ${root} holds more than ${ETC_MANIFEST_LIMITS.maxEntries} paths: keep bulk data out of /etc`);
      out.set(path, entry);
      if (entry.kind === 'dir') await walk(path);
    }
  };
  await walk('');
  return out;
}
