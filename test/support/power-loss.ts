/**
 * The post-mortem of the power-loss harness: after the child (fault-child.ts) is gone, rebuild
 * the device directory as storage would hold it after a power cut. Start from the snapshot taken
 * before the child ran, replay every durable change of the side log, and a seeded random choice
 * of the others: each unsynced write kept, dropped or torn at 512-byte sectors, applied in a
 * random order (reorder); each unsynced create, rename or unlink kept or dropped.
 *
 * Durability follows POSIX, not a lenient file system: a write or truncation is durable once its
 * file is fsynced (or it went through an O_SYNC handle); a create, rename or unlink once the
 * directory holding the name is fsynced (both directories for a rename). Unsynced O_SYNC-free
 * writes are reordered only among themselves; the agent opens nothing O_SYNC.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mulberry32 } from './prng.js';
import type { LogRecord } from './fault-fs.js';

/** The side log, parsed. */
export function readLog(logPath: string): LogRecord[] {
  const text = readFileSync(logPath, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const r: LogRecord = JSON.parse(l);
    return r;
  });
}

/** For each record index: whether power loss can no longer undo it. */
export function durability(log: readonly LogRecord[]): boolean[] {
  const out = new Array<boolean>(log.length).fill(false);
  const syncedFile = new Set<number>();
  const syncedDir = new Set<string>();
  for (let i = log.length - 1; i >= 0; i--) {
    const r = log[i];
    if (r === undefined) continue;
    if (r.t === 'fsync') syncedFile.add(r.ino);
    else if (r.t === 'fsyncdir') syncedDir.add(r.path);
    else if (r.t === 'write') out[i] = r.sync || syncedFile.has(r.ino);
    else if (r.t === 'trunc') out[i] = syncedFile.has(r.ino);
    else if (r.t === 'create' || r.t === 'unlink') out[i] = syncedDir.has(dirname(r.path));
    else if (r.t === 'rename') out[i] = syncedDir.has(dirname(r.from)) && syncedDir.has(dirname(r.to));
    else out[i] = true;
  }
  return out;
}

/** How the cut treats unsynced changes: as a plain process kill would (all kept), all lost, or a random mix. */
export type CutMode = 'keep-all' | 'drop-all' | 'random';

/** What a cut did, for messages. */
export interface CutReport {
  readonly seed: number;
  readonly mode: CutMode;
  readonly unsynced: number;
  readonly kept: number;
  readonly torn: number;
  readonly dropped: number;
}

/** The file system as names and inode contents. */
interface Model {
  readonly names: Map<string, number>;
  readonly dirs: Set<string>;
  readonly data: Map<number, Buffer>;
}

function writeAt(buf: Buffer | undefined, off: number, bytes: Buffer): Buffer {
  const base = buf ?? Buffer.alloc(0);
  const out = off + bytes.length > base.length ? Buffer.concat([base, Buffer.alloc(off + bytes.length - base.length)]) : base;
  bytes.copy(out, off);
  return out;
}

function truncated(buf: Buffer | undefined, size: number): Buffer {
  const base = buf ?? Buffer.alloc(0);
  return size <= base.length ? base.subarray(0, size) : Buffer.concat([base, Buffer.alloc(size - base.length)]);
}

/** Apply one data record (write or truncation) to the model; `sectors` keeps only some 512-byte sectors of a write. */
function applyData(m: Model, r: LogRecord, sectors?: (index: number) => boolean): void {
  if (r.t === 'trunc') m.data.set(r.ino, truncated(m.data.get(r.ino), r.size));
  if (r.t !== 'write') return;
  const bytes = Buffer.from(r.data, 'base64');
  if (sectors === undefined) {
    m.data.set(r.ino, writeAt(m.data.get(r.ino), r.off, bytes));
    return;
  }
  for (let at = r.off, k = 0; at < r.off + bytes.length; k++) {
    const end = Math.min(r.off + bytes.length, (Math.floor(at / 512) + 1) * 512);
    if (sectors(k)) m.data.set(r.ino, writeAt(m.data.get(r.ino), at, bytes.subarray(at - r.off, end - r.off)));
    at = end;
  }
}

/** Apply one namespace record (create, rename, unlink). A name in a directory that does not exist is not made. */
function applyName(m: Model, r: LogRecord): void {
  const parentOk = (p: string): boolean => dirname(p) === '.' || m.dirs.has(dirname(p));
  if (r.t === 'create' && parentOk(r.path)) {
    if (r.dir) m.dirs.add(r.path);
    else m.names.set(r.path, r.ino);
  } else if (r.t === 'rename' && parentOk(r.to)) {
    if (m.names.get(r.from) === r.ino) m.names.delete(r.from);
    m.names.set(r.to, r.ino);
  } else if (r.t === 'unlink') {
    if (m.names.get(r.path) === r.ino) m.names.delete(r.path);
    m.dirs.delete(r.path);
  }
}

function baseModel(log: readonly LogRecord[], snapshot: string): Model {
  const m: Model = { names: new Map(), dirs: new Set(), data: new Map() };
  for (const r of log) {
    if (r.t !== 'base') continue;
    if (r.dir) m.dirs.add(r.path);
    else {
      m.names.set(r.path, r.ino);
      m.data.set(r.ino, readFileSync(join(snapshot, r.path)));
    }
  }
  return m;
}

/** The content of every file as the process saw it after record `upTo` (exclusive), with nothing lost. */
export function stateAt(log: readonly LogRecord[], snapshot: string, upTo: number): Model {
  const m = baseModel(log, snapshot);
  log.slice(0, upTo).forEach((r) => { applyName(m, r); applyData(m, r); });
  return m;
}

function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) continue;
    items[i] = b;
    items[j] = a;
  }
  return items;
}

/**
 * Replace `deviceDir` by what storage holds after a power cut at the end of `logPath`, from
 * `snapshot` (the directory as it was when the logging child started), chosen by `seed`.
 */
export function powerCut(deviceDir: string, snapshot: string, logPath: string, seed: number, mode?: CutMode): CutReport {
  const log = readLog(logPath);
  const durable = durability(log);
  const rng = mulberry32(seed);
  // Seeds cycle through the modes: 1 random, 2 keep-all (a plain kill), 3 random, 4 random, 5 drop-all (a pure power cut).
  const how = mode ?? (['drop-all', 'random', 'keep-all', 'random', 'random'] as const)[seed % 5] ?? 'random';
  const m = baseModel(log, snapshot);
  const unsynced: LogRecord[] = [];
  log.forEach((r, i) => {
    if (r.t === 'base' || r.t === 'read' || r.t === 'fsync' || r.t === 'fsyncdir' || r.t === 'fault' || r.t === 'kill') return;
    if (durable[i] === true) { applyName(m, r); applyData(m, r); return; }
    unsynced.push(r);
  });
  let kept = 0, torn = 0, dropped = 0;
  const keep = (): 'keep' | 'tear' | 'drop' => {
    if (how === 'keep-all') return 'keep';
    if (how === 'drop-all') return 'drop';
    const x = rng();
    return x < 0.45 ? 'keep' : x < 0.7 ? 'tear' : 'drop';
  };
  // Names in log order (a journalled file system keeps their order); data in a random order.
  for (const r of unsynced.filter((r) => r.t === 'create' || r.t === 'rename' || r.t === 'unlink')) {
    if (keep() === 'drop') { dropped++; continue; }
    kept++;
    applyName(m, r);
  }
  for (const r of shuffle(unsynced.filter((r) => r.t === 'write' || r.t === 'trunc'), rng)) {
    const choice = keep();
    if (choice === 'drop') { dropped++; continue; }
    if (choice === 'tear' && r.t === 'write') { torn++; applyData(m, r, () => rng() < 0.5); continue; }
    kept++;
    applyData(m, r);
  }
  rmSync(deviceDir, { recursive: true, force: true });
  mkdirSync(deviceDir, { recursive: true });
  for (const d of [...m.dirs].sort()) mkdirSync(join(deviceDir, d), { recursive: true });
  for (const [path, ino] of m.names) {
    if (dirname(path) === '.' || m.dirs.has(dirname(path))) writeFileSync(join(deviceDir, path), m.data.get(ino) ?? Buffer.alloc(0));
  }
  return { seed, mode: how, unsynced: unsynced.length, kept, torn, dropped };
}

/** Copy the device directory before a logging child runs (the base the post-mortem replays on). */
export function snapshotDevice(deviceDir: string, snapshot: string): void {
  rmSync(snapshot, { recursive: true, force: true });
  cpSync(deviceDir, snapshot, { recursive: true });
}
