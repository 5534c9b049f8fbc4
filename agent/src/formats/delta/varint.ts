/**
 * Unsigned and zig-zag signed LEB128 varints for the delta op streams. Values
 * go up to 2^53 (image offsets), so arithmetic uses numbers, not 32-bit bit ops.
 */
import { OtaError } from '../../errors/index.js';

/** Appends varints to a growable byte buffer. */
export class VarintWriter {
  private bytes = new Uint8Array(256);
  private lengthBytes = 0;

  /** Bytes written so far. */
  get sizeBytes(): number { return this.lengthBytes; }

  /** Append one unsigned integer (0 <= value < 2^53). */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint: ${value} is not a non-negative safe integer`);
    let v = value;
    while (v >= 0x80) {
      this.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.push(v);
  }

  /** Append one signed integer, zig-zag coded (small magnitudes stay short). */
  int(value: number): void {
    this.uint(value < 0 ? -value * 2 - 1 : value * 2);
  }

  /** The bytes written (a copy). */
  finish(): Uint8Array { return this.bytes.slice(0, this.lengthBytes); }

  private push(byte: number): void {
    if (this.lengthBytes === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.lengthBytes++] = byte;
  }
}

/** Reads varints from a byte buffer; a varint past the end is a corrupt stream. */
export class VarintReader {
  private offsetBytes = 0;

  constructor(private readonly bytes: Uint8Array, private readonly what = 'delta op stream') {}

  /** True when every byte was consumed. */
  get done(): boolean { return this.offsetBytes >= this.bytes.length; }

  /** Read one unsigned integer. */
  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.bytes[this.offsetBytes++];
      if (byte === undefined) throw corrupt(this.what, 'ends inside a number');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 49) throw corrupt(this.what, 'has a number longer than 53 bits');
    }
    return value;
  }

  /** Read one zig-zag signed integer. */
  int(): number {
    const z = this.uint();
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }
}

function corrupt(what: string, detail: string): OtaError {
  return new OtaError('DELTA_CORRUPT', `${what} ${detail}: the delta is corrupt; download it again`);
}
