import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openBootEnv, parseEnvConfig, splitCopy, type FileIo, type UBootEnv } from '../../../agent/src/bootenv/index.js';
import { OtaError } from '../../../agent/src/errors/index.js';
import { MemoryIo, errnoError } from '../../support/memory-io.js';

const SIZE = 0x1000;
const hex = (n: number): string => `0x${n.toString(16)}`;

async function envOn(io: MemoryIo, config: string): Promise<UBootEnv> {
  return openBootEnv({ config: parseEnvConfig(config, '/'), io, sysfsRoot: '/sys' });
}

async function fileEnv(io: MemoryIo, redundant = true): Promise<UBootEnv> {
  io.files.set('/env.img', new Uint8Array(2 * SIZE));
  const second = redundant ? `/env.img ${hex(SIZE)} ${hex(SIZE)}\n` : '';
  return envOn(io, `/env.img 0 ${hex(SIZE)}\n${second}`);
}

async function rejection(p: Promise<unknown>): Promise<OtaError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OtaError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const writes = (io: MemoryIo): string[] => io.log.filter((l) => l.startsWith('write') || l.startsWith('sync'));

test('concurrent updates in one process are serialized: no change is lost', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  await env.update({ start: '1' }, { defaultsWhenInvalid: new Map() });
  await Promise.all([env.update({ a: '1' }), env.update({ b: '2' }), env.update({ c: '3' })]);
  assert.equal([...await env.read()], [['a', '1'], ['b', '2'], ['c', '3'], ['start', '1']]);
  assert.is((await env.readState()).flags, 4);
});

test('a blank env is refused; an explicit default env starts it', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  assert.is((await rejection(env.read())).code, 'ENV_NO_VALID_COPY');
  assert.is((await rejection(env.update({ a: '1' }))).code, 'ENV_NO_VALID_COPY');
  assert.equal(writes(io), []);
  const after = await env.update({ a: '1' }, { defaultsWhenInvalid: new Map([['bootdelay', '2'], ['a', '0']]) });
  assert.equal([...after], [['a', '1'], ['bootdelay', '2']]);
  assert.equal([...await env.read()], [['a', '1'], ['bootdelay', '2']]);
});

test('a multi-variable update is one write of the whole copy then one fsync, alternating copies', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  io.log.length = 0;
  await env.update({ BOOT_ORDER: 'B A', BOOT_B_LEFT: '3', a: null, zz: 'last' });
  assert.equal(writes(io), [`write /env.img @${SIZE} ${SIZE}`, 'sync /env.img']);
  assert.equal([...await env.read()], [['BOOT_B_LEFT', '3'], ['BOOT_ORDER', 'B A'], ['zz', 'last']], 'sorted by name, a deleted');
  io.log.length = 0;
  await env.update({ zz: 'again' });
  assert.equal(writes(io), [`write /env.img @0 ${SIZE}`, 'sync /env.img']);
  const state = await env.readState();
  assert.is(state.current, 0);
  assert.is(state.flags, 3, 'incremental flags: 1, 2, 3');
});

test('deleting a missing variable or setting the same value still writes a fresh copy', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  await env.update({ nothere: null });
  assert.equal([...await env.read()], [['a', '1']]);
  assert.is((await env.readState()).current, 1);
});

test('too many variables: ENV_TOO_SMALL and nothing written; bad names and values: nothing written', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  io.log.length = 0;
  const tooBig = await rejection(env.update({ big: 'x'.repeat(SIZE) }));
  assert.is(tooBig.code, 'ENV_TOO_SMALL');
  assert.match(tooBig.message, 'bytes but the env data area holds 4091');
  assert.is((await rejection(env.update({ 'a=b': '1' }))).code, 'ENV_BAD_NAME');
  assert.is((await rejection(env.update({ '': '1' }))).code, 'ENV_BAD_NAME');
  assert.is((await rejection(env.update({ ok: 'nul\0' }))).code, 'ENV_BAD_VALUE');
  assert.equal(writes(io), []);
});

test('what may be set: a newline, CR, control byte, space or = in a name, a control byte or DEL in a value, or a non-byte is refused, nothing written', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  io.log.length = 0;
  const names = ['x\nBOOT_ORDER', 'x\rBOOT_ORDER', 'a\tb', 'a b', 'a\x7f', '\x01', 'caf\xe9', '\u20ac', 'a=b'];
  for (const name of names) {
    const err = await rejection(env.update({ ok: '1', [name]: '1' }));
    assert.is(err.code, 'ENV_BAD_NAME', JSON.stringify(name));
    assert.not.match(err.message, /\n/, 'the message is one line');
  }
  for (const value of ['B A\nBOOT_ORDER=B A', 'a\rb', 'a\tb', '\x1b[2J', 'del\x7f', '\u20ac']) {
    assert.is((await rejection(env.update({ ok: value }))).code, 'ENV_BAD_VALUE', JSON.stringify(value));
  }
  assert.equal(writes(io), []);
  await env.update({ v: 'caf\xe9 =x~', '.flags': 'a:sa', 'ota_x-1.y': '' });
  assert.is((await env.read()).get('v'), 'caf\xe9 =x~', 'bytes above 0x7F, space, = and ~ in a value are fine');
});

test('a failing fsync fails the update with its errno code and where it happened', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  io.fail('sync', '/env.img', errnoError('EIO', 'EIO: i/o error, fsync'));
  const err = await rejection(env.update({ a: '2' }));
  assert.is(err.code, 'EIO');
  assert.match(err.message, `boot env (/env.img @${hex(SIZE)}): write: EIO`);
  io.heal();
  io.fail('write', '/env.img', errnoError('ENOSPC'));
  assert.is((await rejection(env.update({ a: '3' }))).code, 'ENOSPC');
});

test('a failing read is reported with the copy location', async () => {
  const io = new MemoryIo();
  const env = await fileEnv(io);
  io.fail('read', '/env.img', errnoError('EIO'));
  const err = await rejection(env.read());
  assert.is(err.code, 'EIO');
  assert.match(err.message, 'boot env (/env.img @0x0): read');
});

test('a device shorter than offset + size: ENV_SHORT_READ', async () => {
  const io = new MemoryIo();
  io.files.set('/short.img', new Uint8Array(SIZE - 1));
  const env = await envOn(io, `/short.img 0 ${hex(SIZE)}\n`);
  assert.is((await rejection(env.read())).code, 'ENV_SHORT_READ');
});

test('a negative offset counts from the end of the file', async () => {
  const io = new MemoryIo();
  io.files.set('/disk.img', new Uint8Array(16 * SIZE));
  const env = await envOn(io, `/disk.img -${hex(2 * SIZE)} ${hex(SIZE)}\n/disk.img -${hex(SIZE)} ${hex(SIZE)}\n`);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  assert.ok(writes(io).includes(`write /disk.img @${14 * SIZE} ${SIZE}`));
  assert.ok(env.description.includes(`/disk.img @${hex(14 * SIZE)}`));
  const tooFar = await rejection(envOn(io, `/disk.img -${hex(17 * SIZE)} ${hex(SIZE)}\n`));
  assert.is(tooFar.code, 'ENV_CONFIG');
});

test('eMMC boot partition: force_ro is set to 0 around each write and restored, even when the write fails', async () => {
  const io = new MemoryIo();
  const dev = '/dev/mmcblk0boot1';
  const ro = '/sys/class/block/mmcblk0boot1/force_ro';
  io.files.set(dev, new Uint8Array(2 * SIZE));
  io.texts.set(ro, '1\n');
  const env = await envOn(io, `${dev} 0 ${hex(SIZE)}\n${dev} ${hex(SIZE)} ${hex(SIZE)}\n`);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  assert.equal(io.log.filter((l) => !l.startsWith('open')), [`writeText ${ro} 0`, `write ${dev} @0 ${SIZE}`, `sync ${dev}`, `writeText ${ro} 1`]);
  io.log.length = 0;
  io.fail('sync', dev, errnoError('EIO'));
  assert.is((await rejection(env.update({ a: '2' }))).code, 'EIO');
  assert.is(io.texts.get(ro), '1', 'protection restored after a failed write');
  io.heal();
  io.texts.delete(ro);
  await env.update({ a: '3' });
  assert.is((await env.read()).get('a'), '3', 'no force_ro attribute: nothing to lift');
});

/** Blank NOR at /dev/mtd0 (/dev/mtdblock0 names the same bytes), two copies in two sectors, `a=1` written through `wrap(io)`. */
async function norEnv(wrap: (io: MemoryIo) => FileIo = (io) => io): Promise<{ io: MemoryIo; env: UBootEnv }> {
  const io = new MemoryIo();
  io.files.set('/dev/mtd0', new Uint8Array(2 * SIZE).fill(0xff));
  io.alias('/dev/mtdblock0', '/dev/mtd0');
  io.texts.set('/sys/class/mtd/mtd0/type', 'nor\n');
  const config = parseEnvConfig(`/dev/mtd0 0 ${hex(SIZE)} ${hex(SIZE)}\n/dev/mtd0 ${hex(SIZE)} ${hex(SIZE)} ${hex(SIZE)}\n`, '/');
  const env = await openBootEnv({ config, io: wrap(io), sysfsRoot: '/sys' });
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  return { io, env };
}

test('MTD NOR: boolean flags, copy written through mtdblock, old copy marked obsolete through mtd', async () => {
  const { io, env } = await norEnv();
  io.log.length = 0;
  await env.update({ a: '2' });
  assert.equal(writes(io), [`write /dev/mtdblock0 @${SIZE} ${SIZE}`, 'sync /dev/mtdblock0', 'write /dev/mtd0 @0 8', 'sync /dev/mtd0']);
  const image = io.bytes('/dev/mtd0');
  assert.is(image[4], 0, 'old copy obsolete');
  assert.is(image[SIZE + 4], 1, 'new copy active');
  assert.ok(splitCopy(image.subarray(0, SIZE), true).crcValid, 'the obsolete mark does not touch the CRC');
  assert.is((await env.read()).get('a'), '2');
});

/**
 * `io` as /dev/mtd0 behaves in Linux on QEMU's pflash (cfi01, 32-bit bank): the CFI driver writes whole
 * bus words, a partial word padded with 0xFF (a real chip keeps the bits a 1 leaves; QEMU stores the
 * word as given), a buffer write of one word is refused with ETIME (QEMU 10 takes a word count of 0 as
 * a programming error), and the MTD character device has no fsync (EINVAL). The real pair runs in
 * test/qemu-arm/env-corrupt-redundant.test.ts.
 */
function pflashWords(io: MemoryIo, busBytes: number): FileIo {
  return {
    stat: (path) => io.stat(path),
    readText: (path) => io.readText(path),
    writeText: (path, text) => io.writeText(path, text),
    open: async (path, mode) => {
      const fh = await io.open(path, mode);
      if (path !== '/dev/mtd0') return fh;
      return {
        ...fh,
        write: async (buffer, offset, length, position) => {
          const start = position - (position % busBytes);
          const end = Math.ceil((position + length) / busBytes) * busBytes;
          if (end - start <= busBytes) throw errnoError('ETIME', 'ETIME: timer expired, write');
          const words = new Uint8Array(end - start).fill(0xff);
          words.set(buffer.subarray(offset, offset + length), position - start);
          await fh.write(words, 0, words.length, start);
          return { bytesWritten: length };
        },
        sync: () => Promise.reject(errnoError('EINVAL', 'EINVAL: invalid argument, fsync')),
      };
    },
  };
}

test('MTD NOR: the obsolete mark survives a flash that stores whole padded words (QEMU pflash under Linux)', async () => {
  const { io, env } = await norEnv((plain) => pflashWords(plain, 4));
  const before = io.bytes('/dev/mtd0').subarray(0, SIZE);
  await env.update({ a: '2' });
  const old = io.bytes('/dev/mtd0').subarray(0, SIZE);
  assert.is(old[4], 0, 'the old copy is obsolete');
  assert.equal([...old.subarray(0, 4), ...old.subarray(5, 8)], [...before.subarray(0, 4), ...before.subarray(5, 8)], 'the CRC and the data beside the flag are kept');
  assert.ok(splitCopy(old, true).crcValid, 'the old copy stays valid');
  assert.is((await env.read()).get('a'), '2');
});

test('MTD NOR: an fsync of /dev/mtdN failing otherwise than EINVAL fails the update', async () => {
  const { io, env } = await norEnv();
  io.fail('sync', '/dev/mtd0', errnoError('EIO'));
  assert.is((await rejection(env.update({ a: '2' }))).code, 'EIO');
});

test('MTD NOR: a failed copy write never marks the good copy obsolete', async () => {
  const io = new MemoryIo();
  io.files.set('/dev/mtd0', new Uint8Array(2 * SIZE).fill(0xff));
  io.alias('/dev/mtdblock0', '/dev/mtd0');
  io.texts.set('/sys/class/mtd/mtd0/type', 'nor');
  io.texts.set('/sys/class/mtd/mtd0/erasesize', String(SIZE));
  const env = await envOn(io, `/dev/mtd0 0 ${hex(SIZE)}\n/dev/mtd0 ${hex(SIZE)} ${hex(SIZE)}\n`);
  await env.update({ a: '1' }, { defaultsWhenInvalid: new Map() });
  io.log.length = 0;
  io.fail('sync', '/dev/mtdblock0', errnoError('EIO'));
  assert.is((await rejection(env.update({ a: '2' }))).code, 'EIO');
  assert.not.ok(writes(io).some((l) => l.startsWith('write /dev/mtd0')));
  assert.is(io.bytes('/dev/mtd0')[4], 1, 'the current copy is still active');
});

test('MTD NOR: both copies in one erase block are refused (an erase for one would risk both)', async () => {
  const io = new MemoryIo();
  io.files.set('/dev/mtd0', new Uint8Array(4 * SIZE).fill(0xff));
  io.texts.set('/sys/class/mtd/mtd0/type', 'nor');
  io.texts.set('/sys/class/mtd/mtd0/erasesize', String(4 * SIZE));
  io.texts.set('/sys/class/mtd/mtd0/size', String(4 * SIZE));
  const err = await rejection(envOn(io, `/dev/mtd0 0 ${hex(SIZE)}\n/dev/mtd0 -${hex(SIZE)} ${hex(SIZE)}\n`));
  assert.is(err.code, 'ENV_CONFIG');
  assert.match(err.message, 'same 16384-byte erase block');
  await envOn(io, `/dev/mtd0 0 ${hex(SIZE)} ${hex(SIZE)}\n/dev/mtd0 -${hex(SIZE)} ${hex(SIZE)} ${hex(SIZE)}\n`);
});

test('MTD NAND and UBI volumes are refused with a clear code', async () => {
  const io = new MemoryIo();
  io.files.set('/dev/mtd3', new Uint8Array(SIZE));
  io.texts.set('/sys/class/mtd/mtd3/type', 'nand');
  const err = await rejection(envOn(io, `/dev/mtd3 0 ${hex(SIZE)}\n`));
  assert.is(err.code, 'ENV_UNSUPPORTED_DEVICE');
  assert.is((await rejection(envOn(io, `/dev/mtd4 0 ${hex(SIZE)}\n`))).code, 'ENV_CONFIG', 'unknown flash type');
  assert.is((await rejection(envOn(io, `/dev/ubi0_1 0 ${hex(SIZE)}\n`))).code, 'ENV_UNSUPPORTED_DEVICE', 'UBI volume');
});

test('copies on different kinds of storage are refused', async () => {
  const io = new MemoryIo();
  io.texts.set('/sys/class/mtd/mtd0/type', 'nor');
  assert.is((await rejection(envOn(io, `/dev/mtd0 0 ${hex(SIZE)}\n/env.img 0 ${hex(SIZE)}\n`))).code, 'ENV_CONFIG');
});

test.run();
