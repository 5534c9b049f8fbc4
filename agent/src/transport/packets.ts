/**
 * A bound on one incoming MQTT packet. MQTT 5 lets the client announce a
 * Maximum Packet Size in CONNECT, and the broker then drops a larger message
 * for this client instead of sending it; MQTT 3.1.1 has no such property, and
 * mqtt.js buffers a whole packet before handing it over. The watch reads the
 * fixed headers of the bytes coming in and cuts the connection as soon as a
 * header announces more, so the client never buffers more than one chunk of an
 * oversized packet (an agent grew from 105 to 267 MiB on a 100 MB notice).
 */
import { METADATA_LIMITS } from '../formats/index.js';

/** Largest packet the agent takes: a notice at the metadata cap, plus room for the topic and headers. */
export const MAX_PACKET_BYTES = METADATA_LIMITS.maxBytes + 16 * 1024;

/** Follows MQTT fixed headers in a byte stream; calls `tooLarge` once when a packet announces more than `maxBytes`. */
export class PacketSizeWatch {
  private skip = 0;
  private inLength = false;
  private length = 0;
  private lengthBytes = 0;
  private stopped = false;

  constructor(private readonly maxBytes: number, private readonly tooLarge: (packetBytes: number) => void) {}

  /** Feed the next bytes received. */
  feed(chunk: Uint8Array): void {
    let k = 0;
    while (k < chunk.length && !this.stopped) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - k);
        this.skip -= n;
        k += n;
        continue;
      }
      const byte = chunk[k++] ?? 0;
      if (!this.inLength) { this.inLength = true; this.length = 0; this.lengthBytes = 0; continue; }
      // Remaining Length: 1 to 4 bytes, 7 bits each, least significant first.
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes++;
      if ((byte & 0x80) !== 0 && this.lengthBytes < 4) continue;
      this.inLength = false;
      const packetBytes = 1 + this.lengthBytes + this.length;
      if (packetBytes > this.maxBytes) { this.stopped = true; this.tooLarge(packetBytes); return; }
      this.skip = this.length;
    }
  }
}
