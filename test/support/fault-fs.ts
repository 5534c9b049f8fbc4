/**
 * The storage interposer of the power-loss harness (see test/README.md, "Power-loss harness"),
 * loaded in a child process before the agent: it patches node:fs/promises and the FileHandle
 * prototype (every call the agent makes to change files) for paths under one device directory.
 * Each change is first appended, synchronously, to a side log outside that directory (the
 * redo log power-loss.ts replays: path or inode, offset, new bytes; fsyncs; renames...), then
 * done for real, so the process reads back what it wrote. The same gate injects faults (EIO
 * once or for good, ENOSPC at the N-th matching operation) and kill points (the process
 * SIGKILLs itself before an operation, or after writing the first K bytes of a write).
 * Sync and callback write APIs are refused on device paths: a write the log misses would make
 * the post-mortem lie, so a change of the agent to such an API fails the harness loudly.
 */
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/** Operations the gate counts. `open` is every open of a device file, `write` every data write. */
export type OpKind = 'open' | 'write' | 'fsync' | 'fsyncdir' | 'truncate' | 'create' | 'rename' | 'unlink' | 'mkdir' | 'read';

/** Which operation a fault or kill point hits: the `nth` (from 1) of `kind` on a path containing `path`, counted once `afterText` was printed. */
export interface OpMatch {
  readonly kind: OpKind | 'any';
  readonly path?: string;
  readonly nth: number;
  readonly afterText?: string;
}

/** An injected error: `persistent` keeps failing every later matching operation. */
export interface FaultSpec extends OpMatch { readonly error: 'EIO' | 'ENOSPC'; readonly persistent: boolean }

/** A kill point: SIGKILL before the operation; for a write, after writing its first `keepBytes` bytes. */
export interface KillSpec extends OpMatch { readonly keepBytes?: number }

/** What the child is told (JSON in OTA_FAULT_PLAN). */
export interface FaultPlan {
  readonly deviceDir: string;
  readonly logPath: string;
  readonly faults: readonly FaultSpec[];
  readonly kill?: KillSpec;
}

/** One line of the side log. `ino` names a file across renames; paths are relative to the device directory. */
export type LogRecord =
  | { readonly t: 'base'; readonly path: string; readonly ino: number; readonly dir: boolean }
  | { readonly t: 'create'; readonly path: string; readonly ino: number; readonly dir: boolean }
  | { readonly t: 'write'; readonly ino: number; readonly off: number; readonly data: string; readonly sync: boolean }
  | { readonly t: 'trunc'; readonly ino: number; readonly size: number }
  | { readonly t: 'fsync'; readonly ino: number }
  | { readonly t: 'fsyncdir'; readonly path: string }
  | { readonly t: 'rename'; readonly from: string; readonly to: string; readonly ino: number }
  | { readonly t: 'unlink'; readonly path: string; readonly ino: number }
  | { readonly t: 'read'; readonly ino: number; readonly off: number; readonly len: number }
  | { readonly t: 'fault'; readonly kind: OpKind; readonly path: string; readonly error: string }
  | { readonly t: 'kill'; readonly kind: OpKind; readonly path: string };

interface Handle { readonly ino: number; readonly path: string; readonly dir: boolean; readonly append: boolean; readonly sync: boolean; pos: number }

type Fn = (...args: unknown[]) => unknown;

function original(target: object, name: string): Fn {
  const f: unknown = Reflect.get(target, name);
  if (typeof f !== 'function') throw new Error(`fault-fs: ${name} is not a function`);
  return (...args: unknown[]) => Reflect.apply(f, target, args);
}

function method(proto: object, name: string): (self: object, args: unknown[]) => unknown {
  const f: unknown = Reflect.get(proto, name);
  if (typeof f !== 'function') throw new Error(`fault-fs: FileHandle.${name} is not a function`);
  return (self, args) => Reflect.apply(f, self, args);
}

function errnoError(code: 'EIO' | 'ENOSPC', syscall: string, path: string): Error {
  const errno = code === 'EIO' ? -5 : -28;
  return Object.assign(new Error(`${code}: ${code === 'EIO' ? 'i/o error' : 'no space left on device'}, ${syscall} '${path}' (injected)`), { code, errno, syscall, path });
}

function toBuffer(data: unknown, encoding: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`fault-fs: cannot log a write of ${typeof data}`);
}

const O = fs.constants;
const STRING_FLAGS: Readonly<Record<string, number>> = {
  r: O.O_RDONLY, rs: O.O_RDONLY | O.O_SYNC, 'r+': O.O_RDWR, 'rs+': O.O_RDWR | O.O_SYNC,
  w: O.O_WRONLY | O.O_CREAT | O.O_TRUNC, wx: O.O_WRONLY | O.O_CREAT | O.O_TRUNC | O.O_EXCL,
  'w+': O.O_RDWR | O.O_CREAT | O.O_TRUNC, 'wx+': O.O_RDWR | O.O_CREAT | O.O_TRUNC | O.O_EXCL,
  a: O.O_WRONLY | O.O_APPEND | O.O_CREAT, ax: O.O_WRONLY | O.O_APPEND | O.O_CREAT | O.O_EXCL, as: O.O_WRONLY | O.O_APPEND | O.O_CREAT | O.O_SYNC,
  'a+': O.O_RDWR | O.O_APPEND | O.O_CREAT, 'ax+': O.O_RDWR | O.O_APPEND | O.O_CREAT | O.O_EXCL, 'as+': O.O_RDWR | O.O_APPEND | O.O_CREAT | O.O_SYNC,
};

function flagBits(flags: unknown): number {
  if (flags === undefined || flags === null) return O.O_RDONLY;
  if (typeof flags === 'number') return flags;
  const bits = STRING_FLAGS[String(flags)];
  if (bits === undefined) throw new Error(`fault-fs: unknown open flags ${String(flags)}`);
  return bits;
}

const writes = (bits: number): boolean => (bits & (O.O_WRONLY | O.O_RDWR | O.O_CREAT | O.O_TRUNC | O.O_APPEND)) !== 0;

/** The interposer's state: the namespace it has seen, open handles, counters. */
class Interposer {
  private readonly names = new Map<string, number>();
  private readonly handles = new WeakMap<object, Handle>();
  private readonly counts = new Map<object, number>();
  private readonly failing = new Set<FaultSpec>();
  private nextIno = 1;
  private readonly logFd: number;
  private printed = '';

  constructor(private readonly plan: FaultPlan) {
    this.logFd = fs.openSync(plan.logPath, 'a');
    this.scan(plan.deviceDir);
  }

  private scan(dir: string): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      const ino = this.nextIno++;
      this.names.set(path, ino);
      this.log({ t: 'base', path: this.rel(path), ino, dir: entry.isDirectory() });
      if (entry.isDirectory()) this.scan(path);
    }
  }

  log(r: LogRecord): void {
    fs.writeSync(this.logFd, `${JSON.stringify(r)}\n`);
  }

  rel(path: string): string { return relative(this.plan.deviceDir, path); }

  /** The absolute path when `p` is under the device directory. */
  tracked(p: unknown): string | undefined {
    if (typeof p !== 'string' && !(p instanceof URL) && !Buffer.isBuffer(p)) return undefined;
    const abs = resolve(p instanceof URL ? p.pathname : String(p));
    return abs === this.plan.deviceDir || abs.startsWith(`${this.plan.deviceDir}/`) ? abs : undefined;
  }

  handle(fh: object): Handle | undefined { return this.handles.get(fh); }

  /** Text the agent printed: arms `afterText` matches. */
  printedText(text: string): void {
    this.printed = (this.printed + text).slice(-64 * 1024);
    for (const m of [this.plan.kill, ...this.plan.faults]) {
      if (m?.afterText !== undefined && !this.counts.has(m) && this.printed.includes(m.afterText)) this.counts.set(m, 0);
    }
  }

  private hits(m: OpMatch, kind: OpKind, path: string): boolean {
    if ((m.kind !== 'any' && m.kind !== kind) || (m.path !== undefined && !path.includes(m.path))) return false;
    if (m.afterText !== undefined && !this.counts.has(m)) return false;
    const n = (this.counts.get(m) ?? 0) + 1;
    this.counts.set(m, n);
    return n === m.nth;
  }

  /** Count `kind` on `abs`; throws an injected error, or kills (after `partial`, for a write cut short). */
  gate(kind: OpKind, abs: string, partial?: (keepBytes: number) => void): void {
    const path = this.rel(abs);
    for (const f of this.plan.faults) {
      if (this.hits(f, kind, path) || (this.failing.has(f) && (f.kind === 'any' || f.kind === kind) && (f.path === undefined || path.includes(f.path)))) {
        if (f.persistent) this.failing.add(f);
        this.log({ t: 'fault', kind, path, error: f.error });
        throw errnoError(f.error, kind, abs);
      }
    }
    const k = this.plan.kill;
    if (k !== undefined && this.hits(k, kind, path)) {
      if (partial !== undefined && k.keepBytes !== undefined) partial(k.keepBytes);
      this.log({ t: 'kill', kind, path });
      process.kill(process.pid, 'SIGKILL');
    }
  }

  inoOf(abs: string): number | undefined { return this.names.get(abs); }

  /** Before an open: log the create or the truncation it implies. */
  opening(abs: string, bits: number): { ino: number; dir: boolean } {
    const exists = fs.existsSync(abs);
    const dir = exists && fs.statSync(abs).isDirectory();
    this.gate('open', abs);
    let ino = this.names.get(abs);
    if (!exists && (bits & O.O_CREAT) !== 0) {
      this.gate('create', abs);
      ino = this.nextIno++;
      this.names.set(abs, ino);
      this.log({ t: 'create', path: this.rel(abs), ino, dir: false });
    } else if (exists && (bits & O.O_TRUNC) !== 0 && ino !== undefined) {
      this.gate('truncate', abs);
      this.log({ t: 'trunc', ino, size: 0 });
    }
    return { ino: ino ?? -1, dir };
  }

  opened(fh: object, abs: string, bits: number, ino: number, dir: boolean): void {
    if (ino < 0) return;
    this.handles.set(fh, { ino, path: abs, dir, append: (bits & O.O_APPEND) !== 0, sync: (bits & (O.O_SYNC | O.O_DSYNC)) !== 0, pos: 0 });
  }

  created(abs: string, dir: boolean): number {
    const ino = this.nextIno++;
    this.names.set(abs, ino);
    this.log({ t: 'create', path: this.rel(abs), ino, dir });
    return ino;
  }

  renamed(from: string, to: string): void {
    const ino = this.names.get(from);
    if (ino === undefined) return;
    this.names.delete(from);
    this.names.set(to, ino);
    this.log({ t: 'rename', from: this.rel(from), to: this.rel(to), ino });
  }

  /** Log the unlink of `abs` and, for a directory, of everything in it (deepest first). */
  unlinked(abs: string): void {
    for (const [p, ino] of [...this.names].filter(([p]) => p === abs || p.startsWith(`${abs}/`)).sort((a, b) => b[0].length - a[0].length)) {
      this.names.delete(p);
      this.log({ t: 'unlink', path: this.rel(p), ino });
    }
  }
}

/** Patch node:fs/promises and FileHandle for `plan`; call before the agent is imported. */
export async function installInterposer(plan: FaultPlan): Promise<void> {
  const x = new Interposer(plan);
  for (const stream of [process.stdout, process.stderr]) {
    const write = original(stream, 'write');
    Reflect.set(stream, 'write', (chunk: unknown, ...rest: unknown[]) => {
      x.printedText(typeof chunk === 'string' ? chunk : String(chunk));
      return write(chunk, ...rest);
    });
  }
  patchPromises(x, fs.promises);
  const probe = await fs.promises.open(plan.logPath, 'r');
  const proto: unknown = Object.getPrototypeOf(probe);
  await probe.close();
  if (typeof proto !== 'object' || proto === null) throw new Error('fault-fs: no FileHandle prototype');
  patchHandle(x, proto);
  refuseUntracked(x);
  syncBuiltinESMExports();
}

function patchPromises(x: Interposer, fsp: object): void {
  const real = (name: string): Fn => original(fsp, name);
  const set = (name: string, fn: Fn): void => { Reflect.set(fsp, name, fn); };
  const open = real('open');
  set('open', async (p: unknown, flags: unknown, mode: unknown) => {
    const abs = x.tracked(p);
    if (abs === undefined) return open(p, flags, mode);
    const bits = flagBits(flags);
    const { ino, dir } = x.opening(abs, bits);
    const fh: unknown = await open(p, flags, mode);
    if (typeof fh === 'object' && fh !== null) x.opened(fh, abs, bits, ino, dir);
    return fh;
  });
  const writeFile = real('writeFile');
  set('writeFile', async (p: unknown, data: unknown, options: unknown) => {
    const abs = x.tracked(p);
    if (abs === undefined) return writeFile(p, data, options);
    const { ino } = x.opening(abs, flagBits('w'));
    const bytes = toBuffer(data, typeof options === 'string' ? options : undefined);
    x.gate('write', abs, () => undefined);
    x.log({ t: 'write', ino, off: 0, data: bytes.toString('base64'), sync: false });
    return writeFile(p, data, options);
  });
  const rename = real('rename');
  set('rename', async (from: unknown, to: unknown) => {
    const a = x.tracked(from);
    const b = x.tracked(to);
    if (a === undefined || b === undefined) return rename(from, to);
    x.gate('rename', b);
    x.renamed(a, b);
    return rename(from, to);
  });
  for (const name of ['rm', 'unlink', 'rmdir']) {
    const f = real(name);
    set(name, async (p: unknown, options: unknown) => {
      const abs = x.tracked(p);
      if (abs === undefined || !fs.existsSync(abs)) return f(p, options);
      x.gate('unlink', abs);
      x.unlinked(abs);
      return f(p, options);
    });
  }
  const mkdir = real('mkdir');
  set('mkdir', async (p: unknown, options: unknown) => {
    const abs = x.tracked(p);
    if (abs === undefined) return mkdir(p, options);
    const missing: string[] = [];
    for (let d = abs; x.tracked(d) !== undefined && !fs.existsSync(d); d = dirname(d)) missing.unshift(d);
    for (const d of missing) x.gate('mkdir', d);
    const made = await mkdir(p, options);
    for (const d of missing) x.created(d, true);
    return made;
  });
  const truncate = real('truncate');
  set('truncate', async (p: unknown, len: unknown) => {
    const abs = x.tracked(p);
    const ino = abs === undefined ? undefined : x.inoOf(abs);
    if (abs === undefined || ino === undefined) return truncate(p, len);
    x.gate('truncate', abs);
    x.log({ t: 'trunc', ino, size: typeof len === 'number' ? len : 0 });
    return truncate(p, len);
  });
  for (const name of ['copyFile', 'appendFile', 'link', 'symlink', 'cp']) {
    const f = real(name);
    set(name, (...args: unknown[]) => (args.slice(0, 2).some((a) => x.tracked(a) !== undefined) ? Promise.reject(untracked(`fs.promises.${name}`)) : f(...args)));
  }
}

function untracked(api: string): Error {
  return new Error(`fault-fs: ${api} on a device path is not modelled by the power-loss harness: add it to test/support/fault-fs.ts`);
}

/** Where a FileHandle write lands, and its bytes, from any of write's signatures. */
function writeArgs(h: Handle, args: unknown[]): { bytes: Buffer; position: number } {
  const [data, a, b, c] = args;
  let bytes: Buffer;
  let position: unknown;
  if (typeof data === 'string') {
    bytes = toBuffer(data, b);
    position = a;
  } else {
    const all = toBuffer(data, undefined);
    const o = typeof a === 'object' && a !== null ? a : undefined;
    const offset = Number((o === undefined ? a : Reflect.get(o, 'offset')) ?? 0);
    const length = Number((o === undefined ? b : Reflect.get(o, 'length')) ?? all.length - offset);
    bytes = all.subarray(offset, offset + length);
    position = o === undefined ? c : Reflect.get(o, 'position');
  }
  const pos = h.append ? -1 : typeof position === 'number' && position >= 0 ? position : h.pos;
  return { bytes, position: pos };
}

function patchHandle(x: Interposer, proto: object): void {
  const call = (name: string): ((self: object, args: unknown[]) => unknown) => method(proto, name);
  const set = (name: string, fn: (this: object, ...args: unknown[]) => unknown): void => { Reflect.set(proto, name, fn); };
  const write = call('write');
  const statSize = (h: Handle): number => fs.statSync(h.path, { throwIfNoEntry: false })?.size ?? 0;
  const logWrite = (self: object, h: Handle, bytes: Buffer, at: number, doWrite: (bytes: Buffer, at: number) => Promise<unknown>): Promise<unknown> => {
    x.gate('write', h.path, (keep) => {
      const part = bytes.subarray(0, Math.min(keep, bytes.length));
      x.log({ t: 'write', ino: h.ino, off: at, data: part.toString('base64'), sync: h.sync });
      fs.writeSync(Reflect.get(self, 'fd'), part, 0, part.length, at);
    });
    x.log({ t: 'write', ino: h.ino, off: at, data: bytes.toString('base64'), sync: h.sync });
    h.pos = at + bytes.length;
    return doWrite(bytes, at);
  };
  set('write', function (this: object, ...args: unknown[]) {
    const h = x.handle(this);
    if (h === undefined) return write(this, args);
    const { bytes, position } = writeArgs(h, args);
    const at = position < 0 ? statSize(h) : position;
    return logWrite(this, h, bytes, at, async () => {
      const r: unknown = await write(this, args);
      return r;
    });
  });
  const writeFile = call('writeFile');
  set('writeFile', function (this: object, ...args: unknown[]) {
    const h = x.handle(this);
    if (h === undefined) return writeFile(this, args);
    const [data, options] = args;
    const bytes = toBuffer(data, typeof options === 'string' ? options : typeof options === 'object' && options !== null ? Reflect.get(options, 'encoding') : undefined);
    return logWrite(this, h, bytes, h.append ? statSize(h) : h.pos, () => Promise.resolve(writeFile(this, args)));
  });
  for (const name of ['writev', 'appendFile']) {
    const f = call(name);
    set(name, function (this: object, ...args: unknown[]) {
      return x.handle(this) === undefined ? f(this, args) : Promise.reject(untracked(`FileHandle.${name}`));
    });
  }
  for (const name of ['sync', 'datasync']) {
    const f = call(name);
    set(name, async function (this: object, ...args: unknown[]) {
      const h = x.handle(this);
      if (h === undefined) return f(this, args);
      x.gate(h.dir ? 'fsyncdir' : 'fsync', h.path);
      await f(this, args);
      x.log(h.dir ? { t: 'fsyncdir', path: x.rel(h.path) } : { t: 'fsync', ino: h.ino });
      return undefined;
    });
  }
  const truncate = call('truncate');
  set('truncate', function (this: object, ...args: unknown[]) {
    const h = x.handle(this);
    if (h === undefined) return truncate(this, args);
    x.gate('truncate', h.path);
    x.log({ t: 'trunc', ino: h.ino, size: typeof args[0] === 'number' ? args[0] : 0 });
    return truncate(this, args);
  });
  const read = call('read');
  set('read', async function (this: object, ...args: unknown[]) {
    const h = x.handle(this);
    const r: unknown = await read(this, args);
    const position = args[3];
    if (h !== undefined && typeof position === 'number' && typeof r === 'object' && r !== null) {
      x.log({ t: 'read', ino: h.ino, off: position, len: Number(Reflect.get(r, 'bytesRead')) });
    }
    return r;
  });
}

/** Sync and callback APIs that change files: refused on device paths (the agent uses fs.promises). */
function refuseUntracked(x: Interposer): void {
  for (const name of ['writeFileSync', 'appendFileSync', 'renameSync', 'unlinkSync', 'rmSync', 'mkdirSync', 'truncateSync', 'copyFileSync',
    'writeFile', 'appendFile', 'rename', 'unlink', 'rm', 'mkdir', 'truncate', 'copyFile']) {
    const f = original(fs, name);
    Reflect.set(fs, name, (...args: unknown[]) => {
      if (args.slice(0, 2).some((a) => x.tracked(a) !== undefined)) throw untracked(`fs.${name}`);
      return f(...args);
    });
  }
  for (const name of ['openSync', 'open']) {
    const f = original(fs, name);
    Reflect.set(fs, name, (p: unknown, flags: unknown, ...rest: unknown[]) => {
      if (x.tracked(p) !== undefined && typeof flags !== 'function' && writes(flagBits(flags))) throw untracked(`fs.${name}`);
      return f(p, flags, ...rest);
    });
  }
}
