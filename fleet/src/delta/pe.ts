/**
 * Just enough of PE/COFF for executable-aware diffs: an ARM64 kernel `Image` with its
 * EFI stub (Debian's arm64 `/boot/vmlinuz-*` is one: `MZ`, then a PE header whose
 * sections map file offsets to addresses one to one) reads as the same facts as an
 * ELF file (elf.ts): machine, executable sections, loadable ranges. Addresses are
 * relative to the image base (a multiple of 64 KiB), which keeps every 4 KiB page
 * boundary where the loaded kernel has it, so ADRP pages stay right.
 * Anything malformed reads as "not a PE file we can use" (undefined).
 */
import type { ExecSection } from '../../../agent/src/formats/index.js';
import { ELF_MACHINE, type ElfInfo, type ElfLoad } from './elf.js';

/** COFF machine values this reader names, as the ELF machines they are. */
const PE_MACHINES: ReadonlyMap<number, number> = new Map([[0xaa64, ELF_MACHINE.aarch64], [0x01c0, ELF_MACHINE.arm], [0x01c4, ELF_MACHINE.arm]]);

const SCN_CNT_CODE = 0x20;
const SCN_MEM_EXECUTE = 0x20000000;
const SECTION_HEADER_BYTES = 40;
const MAX_SECTIONS = 96;

/** The executable facts of a PE file `bytes` (machine, code sections, loaded ranges), or undefined when it is not one with sane tables. */
export function readPe(bytes: Uint8Array): ElfInfo | undefined {
  if (bytes.length < 0x40 || bytes[0] !== 0x4d || bytes[1] !== 0x5a) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pe = dv.getUint32(0x3c, true);
  if (pe + 24 > bytes.length || dv.getUint32(pe, true) !== 0x00004550) return undefined;
  const machine = PE_MACHINES.get(dv.getUint16(pe + 4, true));
  const count = dv.getUint16(pe + 6, true);
  const table = pe + 24 + dv.getUint16(pe + 20, true);
  if (machine === undefined || count === 0 || count > MAX_SECTIONS || table + count * SECTION_HEADER_BYTES > bytes.length) return undefined;
  const sections: ExecSection[] = [];
  const loads: ElfLoad[] = [];
  for (let i = 0; i < count; i++) {
    const at = table + i * SECTION_HEADER_BYTES;
    const virtualBytes = dv.getUint32(at + 8, true);
    const address = dv.getUint32(at + 12, true);
    const rawBytes = dv.getUint32(at + 16, true);
    const offset = dv.getUint32(at + 20, true);
    const flags = dv.getUint32(at + 36, true);
    const fileBytes = Math.min(rawBytes, virtualBytes === 0 ? rawBytes : virtualBytes);
    if (fileBytes === 0 || offset + fileBytes > bytes.length) continue;
    loads.push({ offsetBytes: offset, fileBytes, address });
    // Words keep their alignment only where file offset and address agree modulo 4.
    if ((flags & (SCN_CNT_CODE | SCN_MEM_EXECUTE)) !== 0 && offset % 4 === 0 && address % 4 === 0) {
      sections.push({ fileOffsetBytes: offset, lengthBytes: fileBytes - (fileBytes % 4), address });
    }
  }
  return { machine, sections, loads };
}
