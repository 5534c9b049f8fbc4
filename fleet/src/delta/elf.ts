/**
 * Just enough of ELF for executable-aware diffs: a little-endian ELF file's machine,
 * its executable sections (SHF_EXECINSTR with file bytes: .text, .plt, .init...) and
 * its loadable segments (to turn file offsets into addresses). 64-bit and 32-bit.
 * Anything malformed reads as "not an ELF file we can use" (undefined): the encoder
 * then diffs the file as bytes.
 */
import type { ExecSection } from '../../../agent/src/formats/index.js';

/** ELF e_machine values this reader names. */
export const ELF_MACHINE = { arm: 40, aarch64: 183 } as const;

/** A PT_LOAD segment: file bytes [offsetBytes, +fileBytes) load at `address`. */
export interface ElfLoad { readonly offsetBytes: number; readonly fileBytes: number; readonly address: number }

/** What the encoder needs of an ELF file. */
export interface ElfInfo {
  readonly machine: number;
  readonly sections: readonly ExecSection[];
  readonly loads: readonly ElfLoad[];
}

const SHT_PROGBITS = 1;
const SHF_EXECINSTR = 4;
const PT_LOAD = 1;

/** The ELF facts of `bytes`, or undefined when it is not a little-endian ELF file with sane tables. */
export function readElf(bytes: Uint8Array): ElfInfo | undefined {
  if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46 || bytes[5] !== 1) return undefined;
  const is64 = bytes[4] === 2;
  if (!is64 && bytes[4] !== 1) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (at: number): number => (is64 ? Number(dv.getBigUint64(at, true)) : dv.getUint32(at, true));
  const w = is64 ? 8 : 4;
  if ((is64 ? 64 : 52) > bytes.length) return undefined;
  const machine = dv.getUint16(18, true);
  const phoff = word(24 + w);
  const shoff = word(24 + 2 * w);
  const base = 28 + 3 * w; // e_ehsize, then e_phentsize, e_phnum, e_shentsize, e_shnum

  const [phentsize, phnum, shentsize, shnum] = [0, 1, 2, 3].map((i) => dv.getUint16(base + 2 + 2 * i, true)) as [number, number, number, number];
  const table = (off: number, size: number, n: number): boolean => n === 0 || (off > 0 && size > 0 && off + size * n <= bytes.length);
  if (!table(phoff, phentsize, phnum) || !table(shoff, shentsize, shnum)) return undefined;
  const loads: ElfLoad[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (dv.getUint32(at, true) !== PT_LOAD) continue;
    loads.push(is64
      ? { offsetBytes: word(at + 8), address: word(at + 16), fileBytes: word(at + 32) }
      : { offsetBytes: word(at + 4), address: word(at + 8), fileBytes: word(at + 16) });
  }
  const sections: ExecSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const flags = word(at + 8);
    if (dv.getUint32(at + 4, true) !== SHT_PROGBITS || (flags & SHF_EXECINSTR) === 0) continue;
    const address = word(at + 8 + w);
    const offset = word(at + 8 + 2 * w);
    const size = word(at + 8 + 3 * w);
    if (offset % 4 !== 0 || offset + size > bytes.length || !Number.isSafeInteger(address)) continue;
    sections.push({ fileOffsetBytes: offset, lengthBytes: size - (size % 4), address });
  }
  return { machine, sections, loads };
}

/** The address file offset `offsetBytes` loads at, or undefined when no loadable segment holds it. */
export function addressOf(elf: ElfInfo, offsetBytes: number): number | undefined {
  for (const l of elf.loads) if (offsetBytes >= l.offsetBytes && offsetBytes < l.offsetBytes + l.fileBytes) return l.address + (offsetBytes - l.offsetBytes);
  return undefined;
}
