/**
 * Writes that survive power cuts: write a temp file, fsync it, rename over the
 * target, fsync the directory. Every fsync result is checked: a failed fsync
 * fails the write (the data may never reach storage).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OtaError, errnoCode, withContext } from '../errors/index.js';

/** Atomically replace `file` with `data`; on return the new content is durable. */
export async function writeFileAtomic(file: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    const fh = await fsp.open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    await fsyncDir(dir);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw withContext(`write ${file}`, err);
  }
}

/** fsync a directory so that a rename or create inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * `mkdir -p` whose new directories survive a power cut: each directory it created is made
 * durable by an fsync of its parent (a create is only durable once its directory is synced).
 * One directory at a time, never `recursive: true`: under /proc that spins forever (libuv retries
 * the parent's EEXIST and the child's ENOENT in turn), and each error here names its directory.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    if (await isDirectory(p)) break;
    missing.push(p);
    if (p === path.dirname(p)) break;
  }
  // parents first: a synced child entry in a directory that itself is not durable would be lost with it
  for (const p of missing.reverse()) {
    await fsp.mkdir(p).catch((err: unknown) => { throw withContext(`create directory ${p}`, err); });
    await fsyncDir(path.dirname(p));
  }
}

/** True when `p` is a directory; false when it does not exist; refuses anything else in its way. */
async function isDirectory(p: string): Promise<boolean> {
  try {
    const st = await fsp.stat(p);
    if (st.isDirectory()) return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw withContext(`directory ${p}`, err);
  }
  throw new OtaError('ENOTDIR', `${p} is not a directory: a directory was to be created under it; move it away or choose another path`);
}

/** Read a file, or undefined when it does not exist. Other errors propagate. */
export async function readFileIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw withContext(`read ${file}`, err);
  }
}

/**
 * A small JSON record on the data partition, tagged with its `format`: saved atomically, read back through
 * `decode` (the members besides `format`); undefined when missing, not JSON, not an object or another format.
 */
export class RecordFile<T extends object> {
  constructor(private readonly file: string, private readonly format: string, private readonly decode: (members: Record<string, unknown>) => T | undefined) {}

  /** Save `record` durably. */
  async save(record: T): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ format: this.format, ...record })}\n`);
  }

  /** The saved record, or undefined. */
  async load(): Promise<T | undefined> {
    const bytes = await readFileIfExists(this.file);
    if (bytes === undefined) return undefined;
    let v: unknown;
    try { v = JSON.parse(bytes.toString('utf8')); } catch { return undefined; }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const members: Record<string, unknown> = { ...v };
    return members['format'] === this.format ? this.decode(members) : undefined;
  }
}
