/**
 * An in-memory `FileIo` for unit tests of the env storage: files are byte arrays, every call is
 * logged, and faults are injected per operation. Its real counterpart, `nodeFileIo`, runs in
 * test/integration/bootenv against real files and the real fw_printenv.
 */
import type { FileIo, IoHandle } from '../../agent/src/bootenv/index.js';

/** An operation a fault can be injected into. */
export type IoOp = 'open' | 'read' | 'write' | 'sync' | 'close' | 'writeText';

/** A system error with an errno code, as Node raises them. */
export function errnoError(code: string, message = code): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** Files in memory; `fail(op, path, err)` makes the next matching operations reject. */
export class MemoryIo implements FileIo {
  readonly files = new Map<string, Uint8Array>();
  readonly texts = new Map<string, string>();
  readonly log: string[] = [];
  private readonly faults: { op: IoOp; path: string; err: Error }[] = [];
  private readonly aliases = new Map<string, string>();

  /** Make `path` name the same bytes as `target` (as /dev/mtdblockN and /dev/mtdN do). */
  alias(path: string, target: string): void {
    this.aliases.set(path, target);
  }

  /** Make every `op` on `path` reject with `err` (until `heal()`). */
  fail(op: IoOp, path: string, err: Error): void {
    this.faults.push({ op, path, err });
  }

  heal(): void {
    this.faults.length = 0;
  }

  /** A copy of the bytes of `path`. */
  bytes(path: string): Uint8Array {
    const f = this.files.get(path);
    if (f === undefined) throw new Error(`no file ${path}`);
    return Uint8Array.from(f);
  }

  open(path: string, mode: 'r' | 'r+'): Promise<IoHandle> {
    this.check('open', path);
    const file = this.files.get(this.target(path));
    if (file === undefined) return Promise.reject(errnoError('ENOENT', `ENOENT: no such file, open '${path}'`));
    this.log.push(`open ${mode} ${path}`);
    return Promise.resolve(this.handle(path));
  }

  stat(path: string): ReturnType<FileIo['stat']> {
    const file = this.files.get(path);
    if (file === undefined) return Promise.reject(errnoError('ENOENT'));
    return Promise.resolve({ size: file.length, isFile: () => true, isBlockDevice: () => false, isCharacterDevice: () => false });
  }

  readText(path: string): Promise<string> {
    const text = this.texts.get(path);
    return text === undefined ? Promise.reject(errnoError('ENOENT')) : Promise.resolve(text);
  }

  writeText(path: string, text: string): Promise<void> {
    this.check('writeText', path);
    this.log.push(`writeText ${path} ${text}`);
    this.texts.set(path, text);
    return Promise.resolve();
  }

  private target(path: string): string {
    return this.aliases.get(path) ?? path;
  }

  private handle(path: string): IoHandle {
    const target = this.target(path);
    return {
      read: async (buffer, offset, length, position) => {
        this.check('read', path);
        const file = this.files.get(target) ?? new Uint8Array();
        const chunk = file.subarray(position, Math.min(file.length, position + length));
        buffer.set(chunk, offset);
        return { bytesRead: chunk.length };
      },
      write: async (buffer, offset, length, position) => {
        this.check('write', path);
        this.log.push(`write ${path} @${position} ${length}`);
        const file = this.files.get(target) ?? new Uint8Array();
        const grown = position + length > file.length ? growTo(file, position + length) : file;
        grown.set(buffer.subarray(offset, offset + length), position);
        this.files.set(target, grown);
        return { bytesWritten: length };
      },
      sync: async () => {
        this.check('sync', path);
        this.log.push(`sync ${path}`);
      },
      close: async () => {
        this.check('close', path);
      },
    };
  }

  private check(op: IoOp, path: string): void {
    const fault = this.faults.find((f) => f.op === op && f.path === path);
    if (fault !== undefined) throw fault.err;
  }
}

function growTo(file: Uint8Array, size: number): Uint8Array {
  const grown = new Uint8Array(size);
  grown.set(file);
  return grown;
}
