import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectGzip, gzipMember } from '../../../agent/src/delta/gzip/index.js';
import { missingTools, tempDir } from '../../support/tools.js';
import { gate, missingReason } from '../../support/skip.js';

// The .debs of the security-fix pair (../shared/bench/debs beside the repository).
const debsDir = fileURLToPath(new URL('../../../../../shared/bench/debs/', import.meta.url));
const allDebs = existsSync(debsDir) ? readdirSync(debsDir).filter((f) => f.endsWith('.deb')).sort() : [];
const debs = allDebs.filter((f) => /^(openssl|libssl3)_3\.0\.22-.*\.deb$/.test(f));
const missing = missingTools('gzip port on Debian packages', 'dpkg-deb', 'tar');
const gated = gate(missingReason(missing) ?? (debs.length === 0 ? 'no openssl/libssl3 3.0.22 .debs in ../shared/bench/debs beside the repository' : undefined));

/** Paths of the .gz files under `root`: regular files, and symlinks (man page aliases) apart. */
function gzFiles(root: string, into = { files: [] as string[], links: [] as string[] }): { files: string[]; links: string[] } {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) gzFiles(path, into);
    else if (entry.name.endsWith('.gz') && entry.isFile()) into.files.push(path);
    else if (entry.name.endsWith('.gz') && entry.isSymbolicLink()) into.links.push(path);
  }
  return into;
}

/** Extract `packages` into a temp dir, rebuild every .gz in it, and assert all are bit-exact. */
function rebuildAll(packages: readonly string[]): void {
  const { dir, cleanup } = tempDir('ota-gzip-debs-');
  try {
    for (const [i, deb] of packages.entries()) {
      const tarBytes = execFileSync('dpkg-deb', ['--fsys-tarfile', join(debsDir, deb)], { maxBuffer: 256 * 1024 * 1024 });
      // One folder per package: packages may ship the same path (old and new versions).
      const into = join(dir, String(i));
      mkdirSync(into);
      // Only the .gz members; a package without any makes tar say so and fail, which is fine here.
      const tar = spawnSync('tar', ['-x', '-C', into, '--wildcards', '*.gz'], { input: tarBytes, encoding: 'utf8' });
      assert.ok(tar.status === 0 || /Not found in archive/.test(tar.stderr), `tar on ${deb}: ${tar.stderr}`);
    }
    const { files, links } = gzFiles(dir);
    assert.ok(files.length > 0, 'the packages hold .gz files');
    // Symlinks are read through: they count as the lead counted .gz paths, though an image stores them as links.
    const paths = [...files, ...links.filter((l) => existsSync(l))];
    const failed: string[] = [];
    const levels = new Map<number, number>();
    for (const file of paths) {
      const original = readFileSync(file);
      const found = detectGzip(original);
      const rebuilt = found && gzipMember(found.raw, { level: found.level, header: found.headerBytes });
      if (found === undefined || rebuilt === undefined || !Buffer.from(rebuilt).equals(original)) failed.push(file.slice(dir.length));
      else levels.set(found.level, (levels.get(found.level) ?? 0) + 1);
    }
    console.log(`# ${paths.length - failed.length} of ${paths.length} .gz paths rebuilt bit-exactly (${files.length} files, ${paths.length - files.length} symlinks to them); by level: ${JSON.stringify(Object.fromEntries(levels))}`);
    assert.equal(failed, [], 'files not rebuilt bit-exactly');
  } finally {
    cleanup();
  }
}

gated('every .gz in the openssl and libssl3 3.0.22 .debs rebuilds bit-exactly: detect, inflate, gzipMember', () => {
  rebuildAll(debs);
});

gated('every .gz in every .deb of the benchmark pairs rebuilds bit-exactly', () => {
  rebuildAll(allDebs);
});

test.run();
