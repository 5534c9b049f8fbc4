/**
 * The anchors of the delta benchmark: how each tool makes and applies an update,
 * as shell commands on the pair's files. Every apply's output is compared with B.
 */
import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One tool: make (OLD, NEW -> artefact) and apply (OLD, artefact -> OUT). */
export interface Anchor {
  readonly name: string;
  readonly tools: readonly string[];
  /** Run in quick mode too. */
  readonly quick: boolean;
  /** Shell commands; `$A`, `$B`, `$D` (artefact path), `$O` (output), `$W` (work dir) are set. */
  readonly make: string;
  readonly apply: string;
  /** What the artefact size is: a file or a directory (new chunks plus index). */
  readonly artefact: string;
  readonly note?: string;
}

/** The node binary and our two programs, relative to the repo root. */
const agent = `"${process.execPath}" bin/ota-agent.js`;
const fleet = `"${process.execPath}" bin/ota-fleet.js`;
/** How the device runs the agent on a small board: one malloc arena, a 1 MiB V8 semi-space. */
export const DEVICE_AGENT = `MALLOC_ARENA_MAX=1 "${process.execPath}" --max-semi-space-size=1 bin/ota-agent.js`;

/** Every anchor, in table order. */
export const anchors: readonly Anchor[] = [
  { name: 'ota-agent delta (ours)', tools: [], quick: true, artefact: '$D',
    make: `${fleet} delta make --from "$A" --to "$B" --out "$D"`,
    apply: `${DEVICE_AGENT} delta apply --base "$A" --delta "$D" --out "$O"`,
    note: 'apply with the device runtime settings; includes base hash, running hash, fsync and read-back verification' },
  { name: 'ota-agent delta (ours, default node settings)', tools: [], quick: true, artefact: '$D',
    make: 'cp "$W/ota_agent_delta_ours_.out" "$D"',
    apply: `${agent} delta apply --base "$A" --delta "$D" --out "$O"`,
    note: 'same delta, applied by plain node (glibc arenas per libuv thread, default V8 semi-space)' },
  { name: 'bsdiff 4.3 (non-zero blocks + zero map)', tools: ['bsdiff', 'bspatch'], quick: false, artefact: '$W/bsdiff',
    make: 'mkdir -p "$W/bsdiff" && bsdiff "$W/A.nz" "$W/B.nz" "$W/bsdiff/patch" && cp "$W/B.zmap.xz" "$W/bsdiff/"',
    apply: 'bspatch "$W/A.nz" "$O.nz" "$W/bsdiff/patch"',
    note: 'whole images make Debian bsdiff run for hours on zero runs; apply output (B without zero blocks) is checked, zero-block expansion not timed' },
  { name: 'xdelta3 -9 -S djw', tools: ['xdelta3'], quick: true, artefact: '$D',
    make: 'xdelta3 -e -9 -S djw -f -s "$A" "$B" "$D"', apply: 'xdelta3 -d -f -s "$A" "$D" "$O"' },
  { name: 'zstd -19 --long=31 --patch-from', tools: ['zstd'], quick: true, artefact: '$D',
    make: 'zstd -q -19 --long=31 --patch-from="$A" "$B" -o "$D" -f', apply: 'zstd -q -d --long=31 --patch-from="$A" "$D" -o "$O" -f' },
  { name: 'zstd --ultra -22 --long=31 --patch-from', tools: ['zstd'], quick: false, artefact: '$D',
    make: 'zstd -q --ultra -22 --long=31 --patch-from="$A" "$B" -o "$D" -f', apply: 'zstd -q -d --long=31 --patch-from="$A" "$D" -o "$O" -f' },
  { name: 'casync, 64 KiB chunks (new chunks + index)', tools: ['casync'], quick: true, artefact: '$W/casync-new',
    make: 'rm -rf "$W/cs" "$W/casync-new" && mkdir -p "$W/casync-new" "$W/cs" && casync make --store="$W/cs/storeA" --chunk-size=65536 "$W/cs/A.caibx" "$A" >/dev/null '
      + '&& casync make --store="$W/cs/storeB" --chunk-size=65536 "$W/cs/B.caibx" "$B" >/dev/null '
      + '&& (cd "$W/cs/storeB" && find . -name "*.cacnk" | while read c; do [ -e "../storeA/$c" ] || cp --parents "$c" "$W/casync-new/"; done) && cp "$W/cs/B.caibx" "$W/casync-new/"',
    apply: 'casync extract --store="$W/cs/storeB" --seed="$A" "$W/cs/B.caibx" "$O"' },
  { name: 'full image, zstd -19 --long', tools: ['zstd'], quick: false, artefact: '$D',
    make: 'zstd -q -19 --long "$B" -o "$D" -f', apply: 'zstd -q -d --long "$D" -o "$O" -f' },
  { name: 'full image, xz -9', tools: ['xz'], quick: false, artefact: '$D',
    make: 'xz -9 -k -c "$B" > "$D"', apply: 'xz -d -c "$D" > "$O"' },
];

/**
 * Prepare bsdiff's inputs: the non-zero 4 KiB blocks of A and B, and B's zero-block
 * map (one bit a block, xz-compressed, counted in bsdiff's size).
 */
export function prepareNonZero(a: string, b: string, work: string): void {
  for (const [src, dst] of [[a, 'A.nz'], [b, 'B.nz']] as const) {
    const map = keepNonZero(src, join(work, dst));
    if (dst === 'B.nz') writeFileSync(join(work, 'B.zmap'), map);
  }
}

function keepNonZero(src: string, dst: string): Uint8Array {
  const block = Buffer.alloc(4096);
  const zero = Buffer.alloc(4096);
  const input = openSync(src, 'r');
  const output = openSync(dst, 'w');
  const bits: number[] = [];
  try {
    for (let i = 0; ; i++) {
      const n = readSync(input, block, 0, 4096, null);
      if (n === 0) break;
      const isZero = n === 4096 && block.equals(zero);
      if ((i & 7) === 0) bits.push(0);
      if (!isZero) { bits[bits.length - 1]! |= 1 << (i & 7); writeSync(output, block, 0, n); }
    }
  } finally {
    closeSync(input);
    closeSync(output);
  }
  return Uint8Array.from(bits);
}
