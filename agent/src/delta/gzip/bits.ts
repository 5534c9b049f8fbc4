/**
 * The bit writer of GNU gzip's bits.c: bits go out least significant first
 * through a 16-bit buffer; `windup` pads to a byte; stored blocks are copied
 * after a windup with their LEN/NLEN words. Output grows in memory and the
 * buffer is kept across `reset`s, so a reused writer stops allocating once it
 * has held the largest output.
 */

/** A growable byte sink with deflate's LSB-first bit packing. */
export class BitWriter {
  private out: Uint8Array;
  private size = 0;
  private buf = 0;
  private valid = 0;

  constructor(initialBytes = 1 << 16) {
    this.out = new Uint8Array(Math.max(16, initialBytes));
  }

  /** Append the low `length` bits of `value` (length <= 16). */
  sendBits(value: number, length: number): void {
    if (this.valid > 16 - length) {
      this.buf |= (value << this.valid) & 0xffff;
      this.putShort(this.buf);
      this.buf = (value & 0xffff) >>> (16 - this.valid);
      this.valid += length - 16;
    } else {
      this.buf |= (value << this.valid) & 0xffff;
      this.valid += length;
    }
  }

  /** Flush the pending bits, padding the last byte with zeros (bi_windup). */
  windup(): void {
    if (this.valid > 8) this.putShort(this.buf);
    else if (this.valid > 0) this.putByte(this.buf & 0xff);
    this.buf = 0;
    this.valid = 0;
  }

  /** Byte-align, then copy `data`, preceded by LEN and NLEN when `header` (copy_block). */
  copyBlock(data: Uint8Array, header: boolean): void {
    this.windup();
    if (header) {
      this.putShort(data.length & 0xffff);
      this.putShort(~data.length & 0xffff);
    }
    this.putBytes(data);
  }

  /** Append whole bytes; only on a byte boundary (after `windup`, or before any bits). */
  putBytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.out.set(data, this.size);
    this.size += data.length;
  }

  /** Append a 32-bit little-endian word; only on a byte boundary. */
  putUint32(value: number): void {
    this.putShort(value & 0xffff);
    this.putShort((value >>> 16) & 0xffff);
  }

  /** The bytes written so far: a view, valid until the next `reset` or write. */
  view(): Uint8Array {
    return this.out.subarray(0, this.size);
  }

  /**
   * The whole bytes written since the last `take` (or `reset`), handed over: a view, valid until the
   * next write. Pending bits stay. A streamed deflate drains its output this way, so the buffer stays small.
   */
  take(): Uint8Array {
    const bytes = this.out.subarray(0, this.size);
    this.size = 0;
    return bytes;
  }

  /** Start over, keeping the buffer. */
  reset(): void {
    this.size = 0;
    this.buf = 0;
    this.valid = 0;
  }

  private putShort(w: number): void {
    this.reserve(2);
    this.out[this.size++] = w & 0xff;
    this.out[this.size++] = (w >>> 8) & 0xff;
  }

  private putByte(b: number): void {
    this.reserve(1);
    this.out[this.size++] = b;
  }

  private reserve(more: number): void {
    if (this.size + more <= this.out.length) return;
    let cap = this.out.length * 2;
    while (cap < this.size + more) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.out.subarray(0, this.size));
    this.out = grown;
  }
}
