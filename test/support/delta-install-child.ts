/**
 * An installing process for kill -9 tests: the agent's `installArtifact` of a
 * release's delta over HTTP (the real HttpSource and downloader) into a target
 * file, its checkpoint kept in a file the way the update journal keeps
 * `progress` (written atomically, read back at start). Prints one line per
 * checkpoint: `checkpoint PROGRESS DATA_DIR_BYTES` (the data directory's size
 * right then, the downloader's one-segment spool included), then `done` or `error`.
 * Argument: a JSON object { release, url, dataDir, base, target, targetSizeBytes }.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HttpSource, installArtifact } from '../../agent/src/install/index.js';
import { readFileIfExists, writeFileAtomic } from '../../agent/src/durable/index.js';
import { describe } from '../../agent/src/errors/index.js';
import { readEnvelope, readRelease } from '../../agent/src/formats/index.js';

interface ChildArgs { release: string; url: string; dataDir: string; base: string; target: string; targetSizeBytes: number }

function parseArgs(text: string | undefined): ChildArgs {
  const v: unknown = JSON.parse(text ?? '');
  if (typeof v !== 'object' || v === null) throw new Error('usage: delta-install-child JSON');
  const o: Record<string, unknown> = Object.fromEntries(Object.entries(v));
  const str = (k: string): string => { const x = o[k]; if (typeof x !== 'string') throw new Error(`delta-install-child: ${k} must be a string`); return x; };
  const size = o['targetSizeBytes'];
  if (typeof size !== 'number') throw new Error('delta-install-child: targetSizeBytes must be a number');
  return { release: str('release'), url: str('url'), dataDir: str('dataDir'), base: str('base'), target: str('target'), targetSizeBytes: size };
}

/** Total bytes of the files under `dir`. */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? treeBytes(p) : statSync(p).size;
  }
  return total;
}

async function main(args: ChildArgs): Promise<void> {
  const release = readRelease(readEnvelope(JSON.parse(readFileSync(args.release, 'utf8')), 'release'), 'release');
  const artifact = release.deltas[0];
  if (artifact === undefined) throw new Error('the release has no delta');
  const progressFile = join(args.dataDir, 'progress');
  const fromBytes = Number((await readFileIfExists(progressFile))?.toString('utf8') ?? '0');
  const spoolDir = join(args.dataDir, 'download');
  const source = new HttpSource([args.url], spoolDir, { backoff: { baseMs: 10, capMs: 200 } });
  await installArtifact({
    artifact, imageSizeBytes: release.installed.sizeBytes, target: { slot: 'B', device: args.target, sizeBytes: args.targetSizeBytes },
    baseDevice: args.base, source, spoolDir, fromBytes,
  }, async (progress) => {
    await writeFileAtomic(progressFile, String(progress));
    process.stdout.write(`checkpoint ${progress} ${treeBytes(args.dataDir)}\n`);
  }, new AbortController().signal);
  process.stdout.write('done\n');
}

if (process.argv[1]?.endsWith('delta-install-child.js') === true) {
  main(parseArgs(process.argv[2])).catch((err: unknown) => { process.stdout.write(`error ${describe(err)}\n`); process.exitCode = 1; });
}
