/** PacketSizeWatch reads MQTT fixed headers split anywhere across chunks. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PacketSizeWatch } from '../../../agent/src/transport/index.js';

/** A packet of type `type` with a body of `bodyBytes` bytes (Remaining Length encoded as MQTT does). */
function packet(bodyBytes: number): Buffer {
  const len: number[] = [];
  let n = bodyBytes;
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; len.push(b); } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(bodyBytes, 0xaa)]);
}

test('packets up to the limit pass in any chunking; the first over it is reported once, with its size', () => {
  const sizes = [0, 1, 127, 128, 16_383, 16_384, 60_000];
  const stream = Buffer.concat([...sizes.map(packet), packet(70_000), packet(5)]);
  for (const chunk of [1, 2, 3, 7, 4096, stream.length]) {
    const seen: number[] = [];
    const watch = new PacketSizeWatch(65_536, (n) => seen.push(n));
    for (let k = 0; k < stream.length; k += chunk) watch.feed(stream.subarray(k, k + chunk));
    assert.equal(seen, [1 + 3 + 70_000], `chunks of ${chunk}`);
  }
});

test('a 4-byte Remaining Length (up to 256 MiB) is read whole', () => {
  const seen: number[] = [];
  const watch = new PacketSizeWatch(1024, (n) => seen.push(n));
  watch.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
  assert.equal(seen, [1 + 4 + 268_435_455]);
});

test.run();
