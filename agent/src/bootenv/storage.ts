/**
 * Where one env copy lives, as bytes: read it whole, write it whole in one write() followed by
 * fsync (whose failure fails the write). The I/O goes through `FileIo`, so tests inject faults.
 */
import { promises as fsp } from 'node:fs';
import { OtaError, errnoCode, withContext } from '../errors/index.js';
import { FLAGS_OFFSET_BYTES } from './codec.js';

/** An open file, the part of `fs.promises.FileHandle` the env uses. */
export interface IoHandle {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** File operations the env storage uses; `nodeFileIo` is the real one, tests wrap it to inject faults. */
export interface FileIo {
  open(path: string, mode: 'r' | 'r+'): Promise<IoHandle>;
  /** `dev`, `ino` and `rdev` (optional for fakes) tell whether two names are one storage. */
  stat(path: string): Promise<{ size: number; dev?: number; ino?: number; rdev?: number; isFile(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }>;
  readText(path: string): Promise<string>;
  /** Write a small text file in place (sysfs attributes). */
  writeText(path: string, text: string): Promise<void>;
}

/** The real file operations of Node.js. */
export const nodeFileIo: FileIo = {
  open: async (path, mode) => {
    const fh = await fsp.open(path, mode);
    return {
      read: (buffer, offset, length, position) => fh.read(buffer, offset, length, position),
      write: (buffer, offset, length, position) => fh.write(buffer, offset, length, position),
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  },
  stat: (path) => fsp.stat(path),
  readText: (path) => fsp.readFile(path, 'utf8'),
  writeText: (path, text) => fsp.writeFile(path, text),
};

/** One env copy on storage. */
export interface CopyStorage {
  /** For messages: `/dev/mmcblk0boot1 @0x3f0000`. */
  readonly description: string;
  /** The whole copy; rejects when the device is shorter. */
  read(): Promise<Uint8Array>;
  /** Replace the whole copy: one write, then fsync; any failure rejects. */
  write(bytes: Uint8Array): Promise<void>;
  /** Change the flags byte alone (the boolean scheme's obsolete mark), then fsync; NOR rewrites the bytes around it as they are. */
  writeFlags(flags: number): Promise<void>;
}

/** A region of a regular file or a block device (also a `uboot.env` file on a mounted FAT partition). */
export class FileRegion implements CopyStorage {
  readonly description: string;

  constructor(
    private readonly path: string,
    private readonly offsetBytes: number,
    private readonly sizeBytes: number,
    private readonly io: FileIo = nodeFileIo,
  ) {
    this.description = `${path} @0x${offsetBytes.toString(16)}`;
  }

  read(): Promise<Uint8Array> {
    return this.readAt(0, this.sizeBytes);
  }

  /** `length` bytes at `at` within the region; rejects when the device ends before them. */
  readAt(at: number, length: number): Promise<Uint8Array> {
    return this.withHandle('r', 'read', async (fh) => {
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await fh.read(bytes, done, bytes.length - done, this.offsetBytes + at + done);
        if (bytesRead === 0) {
          throw new OtaError('ENV_SHORT_READ', `only ${done} of ${length} bytes: the device ends before offset + env size; check fw_env.config`);
        }
        done += bytesRead;
      }
      return bytes;
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.writeAt(bytes, 0, 'write');
  }

  writeFlags(flags: number): Promise<void> {
    return this.writeAt(Uint8Array.of(flags & 0xff), FLAGS_OFFSET_BYTES, 'write flags byte');
  }

  /**
   * Write `bytes` at `at` within the region (one write call unless the kernel writes short), then fsync.
   * `mtdCharDevice`: the file is `/dev/mtdN`, which has no fsync (EINVAL) and needs none, since its
   * write() returns once the chip has programmed the bytes; U-Boot's fw_env.c accepts that EINVAL too.
   */
  writeAt(bytes: Uint8Array, at: number, what: string, { mtdCharDevice = false } = {}): Promise<void> {
    return this.withHandle('r+', what, async (fh) => {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, this.offsetBytes + at + done);
        if (bytesWritten === 0) throw new OtaError('EIO', `the device accepted no bytes after ${done}`);
        done += bytesWritten;
      }
      try {
        await fh.sync();
      } catch (err) {
        if (!mtdCharDevice || errnoCode(err) !== 'EINVAL') throw err;
      }
    });
  }

  private async withHandle<T>(mode: 'r' | 'r+', what: string, work: (fh: IoHandle) => Promise<T>): Promise<T> {
    let fh: IoHandle | undefined;
    try {
      fh = await this.io.open(this.path, mode);
      const result = await work(fh);
      const closing = fh;
      fh = undefined;
      await closing.close();
      return result;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      throw withContext(`boot env (${this.description}): ${what}`, err);
    }
  }
}
