/**
 * Executable-aware diffs (encoder side): for an ARM64 ELF file, or an arm64 kernel
 * Image with its EFI stub (PE, pe.ts), paired with an old one, learn where old code
 * moved (the address map, from the plain diff's long matches), predict the old
 * file through it (agent/src/delta/exec.ts: every PC-relative reference re-aimed), and diff the new file against that prediction.
 * The decoder reads the same prediction from the old file's extents; nothing is
 * transformed on the output side.
 */
import { predictWords } from '../../../agent/src/delta/index.js';
import { DELTA_MAX_EXEC_MAP, DELTA_MAX_EXEC_SECTIONS, EXEC_ARCH, type ExecParams, type ExecSection } from '../../../agent/src/formats/index.js';
import { bsdiff, type DiffPiece } from './bsdiff.js';
import { addressOf, ELF_MACHINE, readElf, type ElfInfo } from './elf.js';
import type { FileExtent } from './ext4.js';
import { readPe } from './pe.js';

/** Matches shorter than this say little about where code moved. */
const MIN_MATCH_BYTES = 64;

/** An exec diff of one file: how the decoder predicts the old file, that prediction, and the pieces against it. */
export interface ExecDiff { readonly params: ExecParams; readonly predicted: Uint8Array; readonly pieces: readonly DiffPiece[]; readonly mapCostBytes: number }

/** A file as the diff sees it: its extents' bytes back to back (holes left out), and those extents. */
export interface PackedFile { readonly bytes: Uint8Array; readonly extents: readonly FileExtent[] }

/** The exec diff of `neu` against `old` (whose plain diff is `plain`), or undefined when either is not ARM64 ELF or PE. */
export function execDiff(old: PackedFile, neu: PackedFile, plain: readonly DiffPiece[]): ExecDiff | undefined {
  const oldBytes = old.bytes;
  const newBytes = neu.bytes;
  const before = readExecutable(unpack(old));
  const after = readExecutable(unpack(neu));
  if (before?.machine !== ELF_MACHINE.aarch64 || after?.machine !== ELF_MACHINE.aarch64) return undefined;
  // A relocatable object (a kernel module) has no addresses yet: every section starts at 0, nothing to re-aim.
  if (before.loads.length === 0 || after.loads.length === 0) return undefined;
  const sections = packedSections(old.extents, before.sections);
  if (sections.length === 0 || sections.length > DELTA_MAX_EXEC_SECTIONS) return undefined;
  // Each loadable segment moves as a whole unless matches inside it say otherwise, and so does what
  // follows its file bytes (.bss): without these, a match's shift would run on into other segments.
  const moves: { at: number; shift: number; lengthBytes: number }[] = [];
  before.loads.forEach((l, i) => {
    const n = after.loads[i];
    if (n === undefined || before.loads.length !== after.loads.length) return;
    moves.push({ at: l.address, shift: n.address - l.address, lengthBytes: Number.MAX_SAFE_INTEGER });
    moves.push({ at: l.address + l.fileBytes, shift: n.address + n.fileBytes - l.address - l.fileBytes, lengthBytes: Number.MAX_SAFE_INTEGER });
  });
  for (const p of plain) {
    if (p.kind !== 'add' || p.lengthBytes < MIN_MATCH_BYTES) continue;
    const at = addressOf(before, logical(old.extents, p.oldOffsetBytes));
    const to = addressOf(after, logical(neu.extents, p.newOffsetBytes));
    if (at !== undefined && to !== undefined) moves.push({ at, shift: to - at, lengthBytes: p.lengthBytes });
  }
  const params: ExecParams = { arch: EXEC_ARCH.arm64, sections, map: addressMap(moves) };
  const predicted = Uint8Array.from(oldBytes);
  predictWords(predicted, 0, params);
  return { params, predicted, pieces: bsdiff(predicted, newBytes), mapCostBytes: 4 * params.map.starts.length + 12 * params.sections.length };
}

// An ELF file, or a PE file (the arm64 kernel Image with its EFI stub).
function readExecutable(bytes: Uint8Array): ElfInfo | undefined {
  return readElf(bytes) ?? readPe(bytes);
}

// Sorted starts where the shift changes; the longest matches win when there are too many.
function addressMap(moves: { at: number; shift: number; lengthBytes: number }[]): ExecParams['map'] {
  const kept = moves.length <= DELTA_MAX_EXEC_MAP ? moves : [...moves].sort((a, b) => b.lengthBytes - a.lengthBytes).slice(0, DELTA_MAX_EXEC_MAP);
  kept.sort((a, b) => a.at - b.at);
  const starts: number[] = [];
  const shifts: number[] = [];
  for (const m of kept) {
    const last = starts.length - 1;
    if (last >= 0 && shifts[last] === m.shift) continue;
    if (last >= 0 && starts[last] === m.at) { shifts[last] = m.shift; continue; }
    starts.push(m.at);
    shifts.push(m.shift);
  }
  return { starts, shifts };
}

// The file with its holes back (ELF offsets count them).
function unpack(f: PackedFile): Uint8Array {
  const last = f.extents[f.extents.length - 1];
  const out = new Uint8Array(last === undefined ? 0 : last.logicalBytes + last.lengthBytes);
  let at = 0;
  for (const e of f.extents) { out.set(f.bytes.subarray(at, at + e.lengthBytes), e.logicalBytes); at += e.lengthBytes; }
  return out;
}

// The file offset of a byte of the packed file.
function logical(extents: readonly FileExtent[], packedBytes: number): number {
  let at = 0;
  for (const e of extents) {
    if (packedBytes < at + e.lengthBytes) return e.logicalBytes + packedBytes - at;
    at += e.lengthBytes;
  }
  return -1;
}

// The sections' parts that have bytes, at their offsets in the packed file (extents are block-aligned, so words stay whole).
function packedSections(extents: readonly FileExtent[], sections: readonly ExecSection[]): ExecSection[] {
  const out: ExecSection[] = [];
  for (const s of sections) {
    let at = 0;
    for (const e of extents) {
      const from = Math.max(s.fileOffsetBytes, e.logicalBytes);
      const to = Math.min(s.fileOffsetBytes + s.lengthBytes, e.logicalBytes + e.lengthBytes);
      if (to - from >= 4) out.push({ fileOffsetBytes: at + from - e.logicalBytes, lengthBytes: (to - from) - ((to - from) % 4), address: s.address + from - s.fileOffsetBytes });
      at += e.lengthBytes;
    }
  }
  return out;
}
