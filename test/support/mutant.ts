/**
 * A mutated copy of the built agent for the mutation checks of the power-loss harness: build/agent
 * copied to a temp directory (with the repository's package.json and node_modules beside it, so
 * imports resolve), then exact textual edits, each of which must match exactly once.
 */
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_ROOT } from './power-harness.js';
import { tempDir } from './tools.js';

/** One edit: in `file` (relative to build/), `find` (which must occur exactly once) becomes `replace`. */
export interface Mutation { readonly file: string; readonly find: string; readonly replace: string }

/** Make the mutant; returns its build root (what the fault child runs) and a cleanup. */
export function makeMutant(mutations: readonly Mutation[]): { root: string; cleanup: () => void } {
  const t = tempDir('ota-mutant-');
  cpSync(join(BUILD_ROOT, 'agent'), join(t.dir, 'agent'), { recursive: true });
  cpSync(join(BUILD_ROOT, '..', 'package.json'), join(t.dir, 'package.json'));
  symlinkSync(join(BUILD_ROOT, '..', 'node_modules'), join(t.dir, 'node_modules'));
  for (const m of mutations) {
    const path = join(t.dir, m.file);
    const text = readFileSync(path, 'utf8');
    const count = text.split(m.find).length - 1;
    if (count !== 1) throw new Error(`mutation of ${m.file}: ${JSON.stringify(m.find)} occurs ${count} times, not once: update the mutation to the current code`);
    writeFileSync(path, text.replace(m.find, m.replace));
  }
  return { root: t.dir, cleanup: t.cleanup };
}

/** The slot fsync of a raw image (SlotWriter.write). */
export const RAW_SLOT_FSYNC: Mutation = { file: 'agent/src/slots/table.js', find: 'await this.fh.sync();', replace: '/* mutant: no slot fsync */' };
/** The slot fsync after each delta segment (TargetWriter.sync). */
export const SINK_FSYNC: Mutation = { file: 'agent/src/delta/sink.js', find: 'await this.fh.sync();', replace: '/* mutant: no segment fsync */' };
/** The final slot fsync of a delta apply (DeltaApplier.finish). */
export const APPLY_FINISH_FSYNC: Mutation = { file: 'agent/src/delta/applier.js', find: 'await this.fh.sync();', replace: '/* mutant: no final fsync */' };
/** The fsync after an env copy is written (FileRegion.writeAt). */
export const ENV_FSYNC: Mutation = { file: 'agent/src/bootenv/storage.js', find: 'await fh.sync();', replace: '/* mutant: no env fsync */' };
